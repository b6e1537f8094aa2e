"""English date and time formats: one clock everywhere ("11:39 PM"), where Django's
own "11:39 p.m." (``P``) ended a sentence in a double period ("... 1:31 a.m.. R$15.00")
and sat beside the chat bubbles' times."""

TIME_FORMAT = "g:i A"
DATETIME_FORMAT = "N j, Y, g:i A"
SHORT_DATETIME_FORMAT = "m/d/Y g:i A"
