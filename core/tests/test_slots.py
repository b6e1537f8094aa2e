from django.template import Context, Engine

from core import slots


def test_a_slot_gives_its_providers_parts_in_order(monkeypatch):
    # given a slot filled by three providers, one of them showing nothing here
    monkeypatch.setattr(slots, "_SLOTS", {})

    def late(context, **kwargs):
        return {"template": "late.html", "word": "late"}

    def early(context, **kwargs):
        return {"template": "early.html", "word": context["who"] + kwargs["tail"]}

    def hidden(context, **kwargs):
        return None

    slots.register("test.slot", late, order=20)
    slots.register("test.slot", hidden, order=5)
    slots.register("test.slot", early, order=10)
    slots.register("test.slot", early, order=10)  # registered twice: shown once

    # when a page fills the slot
    shown = slots.fill("test.slot", {"who": "page"}, tail="!")

    # then the parts come in order, each with its own variables
    assert [part["word"] for part in shown] == ["page!", "late"]
    assert slots.fill("test.nobody", {}) == []


def test_the_slot_tag_renders_each_template_with_its_variables(monkeypatch):
    # given a provider of a link
    monkeypatch.setattr(slots, "_SLOTS", {})
    slots.register(
        "test.slot",
        lambda context, **kwargs: {"template": "link.html", "label": "<Label>", "url": "/a/"},
    )
    engine = Engine(
        loaders=[
            (
                "django.template.loaders.locmem.Loader",
                {
                    "link.html": '<a href="{{ url }}"{% if section == "a" %} class="on"{% endif %}>'
                    "{{ label }}</a>",
                    "page.html": '{% load slots %}<p>{% slot "test.slot" %}</p>[{{ label }}]',
                },
            )
        ],
        libraries={"slots": "core.templatetags.slots"},
    )

    # when a page places the slot
    html = engine.get_template("page.html").render(Context({"section": "a"}))

    # then its template sees the page's context and its own variables, escaped as
    # ever, and they stay inside it
    assert html == '<p><a href="/a/" class="on">&lt;Label&gt;</a></p>[]'
