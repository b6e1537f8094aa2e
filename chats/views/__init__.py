"""HTML views of the chats app, one module per area: ``threads`` (a customer's chats
and the thread page), ``inbox`` (the merchant inbox), ``settings`` (the inbox's
settings and the click-to-chat link), ``consent`` (the offers switch).
``chats/urls.py`` names them."""
