"""What is drawn over a frame: the ESP overlays a wallhack adds (positives), and the legitimate
highlights games draw themselves (hard negatives: teammate outlines, objective markers, hit and
damage indicators), which look alike but never reveal an enemy the player cannot see."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from training.wallhack.scene import BONES, Character, font, player_name

ESP_COLOURS = ((255, 40, 40), (40, 255, 40), (255, 255, 0), (255, 0, 255), (0, 255, 255), (255, 140, 0), (255, 255, 255))
Colour = tuple[int, int, int]


def line_width(image: Image.Image) -> int:
    return max(1, round(image.width / 320))


def box(image: Image.Image, enemies: list[Character], colour: Colour, rng: np.random.Generator) -> None:
    draw, width = ImageDraw.Draw(image), line_width(image)
    for person in enemies:
        draw.rectangle(person.box, outline=colour, width=width)


def corner_box(image: Image.Image, enemies: list[Character], colour: Colour, rng: np.random.Generator) -> None:
    draw, width = ImageDraw.Draw(image), line_width(image)
    for person in enemies:
        x0, y0, x1, y1 = person.box
        arm = 0.25 * (x1 - x0)
        for x, y, dx, dy in ((x0, y0, 1, 1), (x1, y0, -1, 1), (x0, y1, 1, -1), (x1, y1, -1, -1)):
            draw.line([(x, y), (x + dx * arm, y)], fill=colour, width=width)
            draw.line([(x, y), (x, y + dy * arm)], fill=colour, width=width)


def skeleton(image: Image.Image, enemies: list[Character], colour: Colour, rng: np.random.Generator) -> None:
    draw, width = ImageDraw.Draw(image), line_width(image)
    for person in enemies:
        joints = person.joints()
        for a, b in BONES:
            draw.line([joints[a], joints[b]], fill=colour, width=width)
        hx, hy = joints["head"]
        r = 0.07 * person.height
        draw.ellipse([hx - r, hy - r, hx + r, hy + r], outline=colour, width=width)


def health_bar(image: Image.Image, enemies: list[Character], colour: Colour, rng: np.random.Generator) -> None:
    draw = ImageDraw.Draw(image)
    for person in enemies:
        x0, y0, x1, y1 = person.box
        thick = max(2, 0.05 * person.height)
        left = x0 - 2 * thick
        share = rng.uniform(0.1, 1)
        draw.rectangle([left, y0, left + thick, y1], fill=(20, 20, 20))
        draw.rectangle([left, y1 - (y1 - y0) * share, left + thick, y1], fill=(int(255 * (1 - share)), int(255 * share), 0))


def name_tag(image: Image.Image, enemies: list[Character], colour: Colour, rng: np.random.Generator) -> None:
    draw = ImageDraw.Draw(image)
    for person in enemies:
        x0, y0, x1, _ = person.box
        size = int(np.clip(0.12 * person.height, 9, 22) * image.width / 640)
        text = f"{player_name(rng)} [{int(3000 / max(person.height, 1))}m]"
        draw.text(((x0 + x1) / 2, y0 - 2), text, font=font(max(9, size)), fill=colour, anchor="md")


def glow(image: Image.Image, enemies: list[Character], colour: Colour, rng: np.random.Generator) -> None:
    """Chams: the enemy's silhouette in a flat, glowing colour, drawn over the walls."""
    mask = silhouettes(image.size, enemies)
    halo = mask.filter(ImageFilter.GaussianBlur(max(2, image.width / 200)))
    strength = ImageChops.lighter(mask.point(lambda v: v * 0.85), halo)
    image.paste(Image.new("RGB", image.size, colour), mask=strength)


def snapline(image: Image.Image, enemies: list[Character], colour: Colour, rng: np.random.Generator) -> None:
    draw, width = ImageDraw.Draw(image), line_width(image)
    origin = (image.width / 2, image.height) if rng.random() < 0.7 else (image.width / 2, image.height / 2)
    for person in enemies:
        draw.line([origin, person.foot], fill=colour, width=width)


ESP = {"box": box, "corner_box": corner_box, "skeleton": skeleton, "health_bar": health_bar, "name_tag": name_tag,
       "glow": glow, "snapline": snapline}


def silhouettes(size: tuple[int, int], people: list[Character]) -> Image.Image:
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for person in people:
        joints, h = person.joints(), person.height
        for a, b in BONES[1:]:
            draw.line([joints[a], joints[b]], fill=255, width=max(2, int(0.07 * h)))
        (nx, ny), (px, py) = joints["neck"], joints["pelvis"]
        draw.polygon([(nx - 0.11 * h, ny), (nx + 0.11 * h, ny), (px + 0.08 * h, py), (px - 0.08 * h, py)], fill=255)
        hx, hy = joints["head"]
        draw.ellipse([hx - 0.075 * h, hy - 0.075 * h, hx + 0.075 * h, hy + 0.075 * h], fill=255)
    return mask


def teammate_outline(image: Image.Image, teammates: list[Character], rng: np.random.Generator) -> None:
    """Games outline visible teammates (never hidden enemies): a thin contour around the body."""
    mask = silhouettes(image.size, teammates)
    grown = mask.filter(ImageFilter.MaxFilter(2 * line_width(image) + 1))
    contour = ImageChops.subtract(grown, mask)
    image.paste(Image.new("RGB", image.size, ESP_COLOURS[rng.integers(len(ESP_COLOURS))]), mask=contour)


def objective_marker(image: Image.Image, rng: np.random.Generator) -> None:
    """A waypoint: diamond icon, letter and distance, somewhere in the scene."""
    draw = ImageDraw.Draw(image)
    w, h = image.size
    x, y, r = rng.uniform(0.1, 0.9) * w, rng.uniform(0.15, 0.6) * h, rng.uniform(0.015, 0.03) * w
    colour = ESP_COLOURS[rng.integers(len(ESP_COLOURS))]
    draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], outline=colour, width=line_width(image))
    draw.text((x, y), str(rng.choice(list("ABC"))), font=font(max(9, int(r))), fill=colour, anchor="mm")
    draw.text((x, y + r + 2), f"{int(rng.integers(5, 200))}m", font=font(max(9, int(r * 0.8))), fill=colour, anchor="ma")


def damage_indicator(image: Image.Image, rng: np.random.Generator) -> None:
    """Red arcs around the crosshair pointing where the shots came from, and a red vignette."""
    overlay = Image.new("RGB", image.size, (200, 0, 0))
    mask = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(mask)
    w, h = image.size
    r = min(w, h) * rng.uniform(0.15, 0.3)
    for _ in range(int(rng.integers(1, 4))):
        start = rng.uniform(0, 360)
        draw.arc([w / 2 - r, h / 2 - r, w / 2 + r, h / 2 + r], start, start + rng.uniform(20, 50), fill=180, width=max(3, int(r / 12)))
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w]
        edge = np.clip(np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)) - 0.7, 0, 1) * 300
        mask = ImageChops.lighter(mask, Image.fromarray(np.clip(edge, 0, 140).astype(np.uint8)))
    image.paste(overlay, mask=mask)


def hit_marker(image: Image.Image, rng: np.random.Generator) -> None:
    draw = ImageDraw.Draw(image)
    cx, cy, s = image.width / 2, image.height / 2, max(5, image.width // 80)
    colour = (255, 40, 40) if rng.random() < 0.5 else (255, 255, 255)
    for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
        draw.line([(cx + dx * s / 2, cy + dy * s / 2), (cx + dx * s * 1.5, cy + dy * s * 1.5)], fill=colour, width=2)


HARD_NEGATIVES = ("teammate_outline", "objective_marker", "damage_indicator", "hit_marker")
