#!/usr/bin/env python3
"""Draw the extension's icon, client/images/icon.png (256x256), with Pillow; no download.

A mode switch: a train/eval toggle in PyTorch orange on a dark tile, the knob on the
"eval" side (an orange dot marks "train") and an amber warning dot in the corner: the
state torchmode catches a model left in. Drawn 4x
larger and scaled down, for smooth edges. Run again after changing the drawing:

    .venv/bin/python client/scripts/make_icon.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUTPUT = Path(__file__).resolve().parents[1] / "images" / "icon.png"
SIZE = 256
SCALE = 4
TILE = (43, 26, 23, 255)  # package.json galleryBanner.color, #2b1a17
ORANGE = (238, 76, 44, 255)  # PyTorch's orange, #ee4c2c
CREAM = (255, 244, 236, 255)
AMBER = (255, 193, 7, 255)


def draw() -> Image.Image:
    big = SIZE * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (round(x0 * SCALE), round(y0 * SCALE), round(x1 * SCALE), round(y1 * SCALE))

    pen.rounded_rectangle(box(8, 8, 248, 248), radius=48 * SCALE, fill=TILE)
    # The switch's track, and a thinner cream line inside it.
    pen.rounded_rectangle(box(36, 86, 220, 170), radius=42 * SCALE, fill=ORANGE)
    pen.rounded_rectangle(box(46, 96, 210, 160), radius=32 * SCALE, fill=TILE)
    # The knob on the right ("eval"), the "train" mark on the left, the warning dot.
    pen.ellipse(box(140, 100, 196, 156), fill=CREAM)
    pen.ellipse(box(72, 116, 96, 140), fill=ORANGE)
    pen.ellipse(box(188, 44, 212, 68), fill=AMBER)
    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main() -> None:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    draw().save(OUTPUT, optimize=True)
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
