"""Build static/icons.svg (one SVG sprite) from the npm package lucide-static.

    npm pack lucide-static@1.62.0 && tar xzf lucide-static-1.62.0.tgz
    python static/vendor/make_sprite.py package/icons

Add a name to ICONS and re-run to use another icon.
"""

import re
import sys
from pathlib import Path

ICONS = [
    "message-circle", "store", "shopping-bag", "inbox", "package", "receipt", "wallet",
    "megaphone", "users", "settings", "log-out", "search", "map-pin", "clock", "globe",
    "phone", "mail", "external-link", "check", "x", "chevron-down", "menu", "plus", "trash-2",
    "key", "user", "image", "link", "send", "building-2", "layout-dashboard",
    "chevron-left", "chevron-up", "flag", "user-plus", "qr-code", "tag", "check-check",
    "chart-column",
]  # fmt: skip


def main(folder: str) -> None:
    out = ['<svg xmlns="http://www.w3.org/2000/svg">']
    for name in ICONS:
        svg = (Path(folder) / f"{name}.svg").read_text()
        body = re.search(r"<svg[^>]*>(.*)</svg>", svg, re.S).group(1)
        body = re.sub(r"<!--.*?-->", "", body, flags=re.S).strip()
        out.append(
            f'<symbol id="{name}" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
            f'stroke-width="2" stroke-linecap="round" stroke-linejoin="round">{body}</symbol>'
        )
    out.append("</svg>")
    target = Path(__file__).resolve().parent.parent / "icons.svg"
    target.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
