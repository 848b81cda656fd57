"""Render a tmux ``capture-pane -e -p`` dump (ANSI SGR colours) to a PNG with Pillow.

    python ansi_to_png.py pane.ansi out.png [--cols 100] [--rows 30]

Handles what tmux emits: default/16/256/truecolour foreground and background,
bold, italic, underline and reverse. Fonts: DejaVu Sans Mono (Debian's
fonts-dejavu-core).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SIZE = 16
FG, BG = (0xE0, 0xE2, 0xEA), (0x14, 0x16, 0x1B)  # Neovim 0.10+ default dark scheme
BASE16 = [
    (0x07, 0x08, 0x0D),
    (0xFF, 0xC0, 0xB9),
    (0xB3, 0xF6, 0xC0),
    (0xFC, 0xE0, 0x94),
    (0xA6, 0xDB, 0xFF),
    (0xFF, 0xCA, 0xFF),
    (0x8C, 0xF8, 0xF7),
    (0xEE, 0xF1, 0xF8),
    (0x4F, 0x52, 0x58),
    (0xFF, 0xC0, 0xB9),
    (0xB3, 0xF6, 0xC0),
    (0xFC, 0xE0, 0x94),
    (0xA6, 0xDB, 0xFF),
    (0xFF, 0xCA, 0xFF),
    (0x8C, 0xF8, 0xF7),
    (0xEE, 0xF1, 0xF8),
]


def xterm256(n: int) -> tuple[int, int, int]:
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return steps[n // 36], steps[(n // 6) % 6], steps[n % 6]
    v = 8 + (n - 232) * 10
    return v, v, v


SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def parse(text: str) -> list[list[tuple[str, dict]]]:
    """Lines of (character, style) cells."""
    style: dict = {}
    lines = []
    for raw in text.split("\n"):
        cells: list[tuple[str, dict]] = []
        pos = 0
        for m in [*SGR.finditer(raw), None]:
            end = m.start() if m else len(raw)
            for ch in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw[pos:end]):
                cells.append((ch, dict(style)))
            if m is None:
                break
            pos = m.end()
            params = [p for p in re.split("[;:]", m.group(1))] or ["0"]
            nums = [int(p) if p else 0 for p in params]
            i = 0
            while i < len(nums):
                n = nums[i]
                if n == 0:
                    style = {}
                elif n == 1:
                    style["bold"] = True
                elif n == 3:
                    style["italic"] = True
                elif n in (4, 21):
                    style["underline"] = True
                elif n == 7:
                    style["reverse"] = True
                elif n == 22:
                    style.pop("bold", None)
                elif n == 23:
                    style.pop("italic", None)
                elif n == 24:
                    style.pop("underline", None)
                elif n == 27:
                    style.pop("reverse", None)
                elif 30 <= n <= 37:
                    style["fg"] = BASE16[n - 30]
                elif 90 <= n <= 97:
                    style["fg"] = BASE16[n - 90 + 8]
                elif 40 <= n <= 47:
                    style["bg"] = BASE16[n - 40]
                elif 100 <= n <= 107:
                    style["bg"] = BASE16[n - 100 + 8]
                elif n == 39:
                    style.pop("fg", None)
                elif n == 49:
                    style.pop("bg", None)
                elif n in (38, 48, 58) and i + 1 < len(nums):
                    key = {38: "fg", 48: "bg", 58: "ul"}[n]
                    if nums[i + 1] == 5 and i + 2 < len(nums):
                        style[key] = xterm256(nums[i + 2])
                        i += 2
                    elif nums[i + 1] == 2 and i + 4 < len(nums):
                        style[key] = tuple(nums[i + 2 : i + 5])
                        i += 4
                i += 1
        lines.append(cells)
    return lines


def render(text: str, out: Path, cols: int, rows: int) -> None:
    fonts = {
        (b, it): ImageFont.truetype(
            str(
                FONT_DIR
                / (
                    "DejaVuSansMono"
                    + {
                        (False, False): "",
                        (True, False): "-Bold",
                        (False, True): "-Oblique",
                        (True, True): "-BoldOblique",
                    }[(b, it)]
                    + ".ttf"
                )
            ),
            SIZE,
        )
        for b in (False, True)
        for it in (False, True)
    }
    regular = fonts[(False, False)]
    cw = round(regular.getlength("M"))
    ascent, descent = regular.getmetrics()
    ch = ascent + descent + 3
    pad = 12
    img = Image.new("RGB", (cols * cw + 2 * pad, rows * ch + 2 * pad), BG)
    draw = ImageDraw.Draw(img)
    for y, cells in enumerate(parse(text)[:rows]):
        for x, (char, st) in enumerate(cells[:cols]):
            fg, bg = st.get("fg", FG), st.get("bg", BG)
            if st.get("reverse"):
                fg, bg = bg, fg
            px, py = pad + x * cw, pad + y * ch
            if bg != BG:
                draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
            if char != " ":
                font = fonts[(bool(st.get("bold")), bool(st.get("italic")))]
                draw.text((px, py + 1), char, font=font, fill=fg)
            if st.get("underline"):
                draw.line([px, py + ch - 2, px + cw - 1, py + ch - 2], fill=st.get("ul", fg))
    img.save(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dump", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--rows", type=int, default=30)
    args = parser.parse_args()
    render(args.dump.read_text(encoding="utf-8"), args.out, args.cols, args.rows)


if __name__ == "__main__":
    main()
