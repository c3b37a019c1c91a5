"""First-person-shooter-like frames: a room or corridor in perspective with textured walls and
lighting, characters standing on the floor (some partly or fully behind cover), and a HUD.

Everything is drawn with PIL from a numpy Generator, so a frame is a pure function of its seed.
The scene knows where every character is, including the ones the player cannot see; the ESP
overlays (overlays.py) draw on exactly that knowledge, as a wallhack does."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Resolutions screenshots arrive in: 16:9, 4:3, 16:10, 21:9 and a square crop.
RESOLUTIONS = ((640, 360), (800, 450), (960, 540), (1280, 720), (640, 480), (800, 600), (768, 480), (1008, 432), (512, 512))
WALL_COLOURS = ((120, 116, 108), (150, 132, 100), (92, 104, 118), (120, 92, 70), (70, 78, 70), (160, 150, 135))
CLOTHES = ((60, 70, 45), (115, 105, 75), (30, 30, 34), (70, 72, 78), (35, 45, 70), (90, 60, 40))
SKIN = ((224, 188, 160), (180, 130, 100), (120, 85, 60), (240, 210, 190))
Joint = tuple[float, float]


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size)


@dataclass
class Character:
    foot: Joint  # where it stands on the floor, in pixels
    height: float
    team: str  # "enemy" or "team"
    visibility: str  # "visible", "partial" (lower body behind cover) or "hidden"
    swing: float  # arm and leg pose, -1..1

    @property
    def box(self) -> tuple[float, float, float, float]:
        x, y = self.foot
        return x - 0.2 * self.height, y - self.height, x + 0.2 * self.height, y

    def joints(self) -> dict[str, Joint]:
        """Skeleton joints, as ESP skeletons and the body drawing both use them."""
        x, y = self.foot
        h, s = self.height, self.swing
        return {
            "head": (x, y - 0.92 * h), "neck": (x, y - 0.82 * h),
            "l_shoulder": (x - 0.12 * h, y - 0.78 * h), "r_shoulder": (x + 0.12 * h, y - 0.78 * h),
            "l_elbow": (x - 0.16 * h, y - 0.62 * h + 0.03 * h * s), "r_elbow": (x + 0.16 * h, y - 0.62 * h - 0.03 * h * s),
            "l_hand": (x - 0.15 * h + 0.05 * h * s, y - 0.47 * h), "r_hand": (x + 0.15 * h - 0.05 * h * s, y - 0.47 * h),
            "pelvis": (x, y - 0.5 * h), "l_hip": (x - 0.07 * h, y - 0.48 * h), "r_hip": (x + 0.07 * h, y - 0.48 * h),
            "l_knee": (x - 0.08 * h + 0.04 * h * s, y - 0.25 * h), "r_knee": (x + 0.08 * h - 0.04 * h * s, y - 0.25 * h),
            "l_foot": (x - 0.09 * h + 0.08 * h * s, y), "r_foot": (x + 0.09 * h - 0.08 * h * s, y),
        }


BONES = (("head", "neck"), ("neck", "l_shoulder"), ("neck", "r_shoulder"), ("l_shoulder", "l_elbow"), ("l_elbow", "l_hand"),
         ("r_shoulder", "r_elbow"), ("r_elbow", "r_hand"), ("neck", "pelvis"), ("pelvis", "l_hip"), ("pelvis", "r_hip"),
         ("l_hip", "l_knee"), ("l_knee", "l_foot"), ("r_hip", "r_knee"), ("r_knee", "r_foot"))


@dataclass
class Scene:
    size: tuple[int, int]
    horizon: float
    vanish_x: float
    characters: list[Character] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)  # hard negatives drawn on the frame


def room(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, float, float]:
    """Floor, ceiling, side walls and a back wall in one-point perspective, textured and lit."""
    w, h = size
    vx, vy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.38, 0.52)
    back = (vx - w * rng.uniform(0.08, 0.25), vy - h * rng.uniform(0.1, 0.25), vx + w * rng.uniform(0.08, 0.25), vy + h * rng.uniform(0.05, 0.15))
    wall = np.array(WALL_COLOURS[rng.integers(len(WALL_COLOURS))], float)
    floor = wall * rng.uniform(0.5, 0.8)
    ceiling = wall * rng.uniform(0.8, 1.1)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    faces = [
        ([(0, h), (w, h), (back[2], back[3]), (back[0], back[3])], floor),
        ([(0, 0), (w, 0), (back[2], back[1]), (back[0], back[1])], ceiling),
        ([(0, 0), (back[0], back[1]), (back[0], back[3]), (0, h)], wall * rng.uniform(0.75, 0.95)),
        ([(w, 0), (back[2], back[1]), (back[2], back[3]), (w, h)], wall * rng.uniform(0.85, 1.05)),
        ([(back[0], back[1]), (back[2], back[1]), (back[2], back[3]), (back[0], back[3])], wall * 0.7),
    ]
    for polygon, colour in faces:
        draw.polygon(polygon, fill=tuple(int(c) for c in np.clip(colour, 0, 255)))
    texture_lines(draw, rng, size, (vx, vy), back)
    return light(image, rng, (vx, vy)), vy, vx


def texture_lines(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: tuple[int, int], vanish: Joint, back) -> None:
    """Floor tiles converging on the vanishing point and brick courses on the side walls."""
    w, h = size
    shade = tuple(int(v) for v in rng.integers(20, 60, 3))
    for x in np.linspace(-w, 2 * w, rng.integers(6, 16)):
        draw.line([(x, h), vanish], fill=shade, width=1)
    for t in np.geomspace(0.02, 1, rng.integers(5, 12)):
        y = back[3] + (h - back[3]) * t
        draw.line([(0, y), (w, y)], fill=shade, width=1)
    for t in np.linspace(0.05, 0.95, rng.integers(4, 12)):
        draw.line([(0, h * t), (back[0], back[1] + (back[3] - back[1]) * t)], fill=shade, width=1)
        draw.line([(w, h * t), (back[2], back[1] + (back[3] - back[1]) * t)], fill=shade, width=1)


def light(image: Image.Image, rng: np.random.Generator, vanish: Joint) -> Image.Image:
    """A light pool, darkness towards the far end, and sensor-like noise."""
    w, h = image.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lx, ly = rng.uniform(0, w), rng.uniform(0, h * 0.6)
    pool = np.exp(-((xx - lx) ** 2 + (yy - ly) ** 2) / (2 * (rng.uniform(0.2, 0.6) * w) ** 2))
    depth = np.hypot((xx - vanish[0]) / w, (yy - vanish[1]) / h)
    gain = rng.uniform(0.5, 0.8) + rng.uniform(0.2, 0.6) * pool + 0.4 * np.clip(depth, 0, 1)
    pixels = np.asarray(image, np.float32) * gain[..., None] + rng.normal(0, rng.uniform(2, 8), (h, w, 1))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def place_characters(rng: np.random.Generator, size: tuple[int, int], horizon: float, enemies: int, teammates: int,
                     hidden_share: float) -> list[Character]:
    w, h = size
    people = []
    for team, count in (("enemy", enemies), ("team", teammates)):
        for _ in range(count):
            # Standing on the floor between the far wall and mid-distance; nearer ones would fill the frame.
            foot_y = rng.uniform(horizon + 0.04 * h, horizon + 0.35 * (h - horizon))
            height = (foot_y - horizon) * rng.uniform(1.6, 2.2) * h / (h - horizon) * 0.9
            visibility = "visible" if team == "team" or rng.random() > hidden_share else str(rng.choice(["partial", "hidden"]))
            people.append(Character((rng.uniform(0.08, 0.92) * w, foot_y), height, team, visibility, rng.uniform(-1, 1)))
    return sorted(people, key=lambda c: c.foot[1])  # far (high on screen) first


def draw_character(draw: ImageDraw.ImageDraw, person: Character, rng: np.random.Generator) -> None:
    joints, h = person.joints(), person.height
    clothes = tuple(int(c) for c in CLOTHES[rng.integers(len(CLOTHES))])
    limb = max(2, int(0.06 * h))
    for a, b in BONES[1:]:
        draw.line([joints[a], joints[b]], fill=clothes, width=limb)
    (nx, ny), (px, py) = joints["neck"], joints["pelvis"]
    draw.polygon([(nx - 0.11 * h, ny), (nx + 0.11 * h, ny), (px + 0.08 * h, py), (px - 0.08 * h, py)], fill=clothes)
    hx, hy = joints["head"]
    r = 0.07 * h
    draw.ellipse([hx - r, hy - r, hx + r, hy + r], fill=SKIN[rng.integers(len(SKIN))])
    draw.line([(joints["r_hand"][0] - 0.02 * h, joints["r_hand"][1]), (joints["r_hand"][0] + 0.2 * h, joints["r_hand"][1] - 0.04 * h)],
              fill=(25, 25, 25), width=max(2, int(0.035 * h)))  # a rifle


def draw_cover(draw: ImageDraw.ImageDraw, person: Character, rng: np.random.Generator, size: tuple[int, int]) -> None:
    """A wall, pillar or crate between the player and the character: over its lower body
    ("partial") or over all of it ("hidden")."""
    x0, y0, x1, y1 = person.box
    top = y0 - rng.uniform(0.02, 0.3) * person.height if person.visibility == "hidden" else y0 + rng.uniform(0.35, 0.5) * person.height
    left, right = x0 - rng.uniform(0.05, 1.5) * person.height, x1 + rng.uniform(0.05, 1.5) * person.height
    bottom = min(size[1], y1 + rng.uniform(0.02, 0.2) * person.height)
    base = np.array(WALL_COLOURS[rng.integers(len(WALL_COLOURS))]) * rng.uniform(0.7, 1.1)
    draw.rectangle([left, top, right, bottom], fill=tuple(int(c) for c in np.clip(base, 0, 255)))
    edge = tuple(int(c) for c in np.clip(base * 0.6, 0, 255))
    draw.rectangle([left, top, right, bottom], outline=edge, width=max(1, int(0.01 * person.height)))
    if rng.random() < 0.5:  # a crate's planks or a wall's panel seams
        for t in np.linspace(0.25, 0.75, rng.integers(1, 4)):
            draw.line([(left, top + (bottom - top) * t), (right, top + (bottom - top) * t)], fill=edge, width=1)


def hud(image: Image.Image, rng: np.random.Generator, enemies: list[Character]) -> None:
    """Crosshair, minimap, health, ammo and kill feed: in every frame, cheat or not."""
    w, h = image.size
    draw = ImageDraw.Draw(image)
    cx, cy, s = w / 2, h / 2, max(4, w // 100)
    colour = [(255, 255, 255), (0, 255, 0), (0, 255, 255), (255, 255, 0), (255, 60, 60)][rng.integers(5)]
    match rng.integers(3):
        case 0:
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                draw.line([(cx + dx * s / 2, cy + dy * s / 2), (cx + dx * 2 * s, cy + dy * 2 * s)], fill=colour, width=2)
        case 1:
            draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=colour)
        case _:
            draw.ellipse([cx - s, cy - s, cx + s, cy + s], outline=colour, width=1)
    minimap(draw, rng, w, h, enemies)
    small = font(max(10, h // 30))
    health = int(rng.integers(5, 101))
    bar = (w * 0.03, h * 0.92, w * 0.03 + w * 0.18, h * 0.95)
    draw.rectangle(bar, outline=(220, 220, 220), width=1)
    fill = (200, 40, 40) if health < 30 else (60, 200, 80)  # low health turns the bar red: legitimate red UI
    draw.rectangle((bar[0] + 1, bar[1] + 1, bar[0] + 1 + (bar[2] - bar[0] - 2) * health / 100, bar[3] - 1), fill=fill)
    draw.text((bar[0], bar[1] - small.size - 4), f"{health} HP", font=small, fill=(235, 235, 235))
    ammo = int(rng.integers(0, 31))
    draw.text((w * 0.85, h * 0.9), f"{ammo} / {int(rng.integers(0, 181))}", font=font(max(12, h // 22)),
              fill=(230, 50, 50) if ammo < 6 else (240, 240, 240))
    for line in range(int(rng.integers(0, 4))):  # kill feed: red enemy names are part of the normal UI
        y = h * 0.04 + line * (small.size + 4)
        draw.text((w * 0.68, y), f"{player_name(rng)}  >  {player_name(rng)}", font=small,
                  fill=(230, 70, 70) if rng.random() < 0.5 else (120, 200, 255))


def minimap(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int, enemies: list[Character]) -> None:
    r = min(w, h) * rng.uniform(0.08, 0.12)
    cx, cy = (w * 0.03 + r, h * 0.04 + r) if rng.random() < 0.7 else (w * 0.97 - r, h * 0.04 + r)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(30, 40, 35), outline=(200, 200, 200), width=1)
    for _ in range(int(rng.integers(2, 6))):
        x, y = cx + rng.uniform(-0.7, 0.7) * r, cy + rng.uniform(-0.7, 0.7) * r
        draw.line([(x, y), (x + rng.uniform(-0.5, 0.5) * r, y)], fill=(90, 110, 95), width=2)
    draw.polygon([(cx, cy - 5), (cx - 4, cy + 4), (cx + 4, cy + 4)], fill=(240, 240, 240))
    for _ in range(int(rng.integers(0, 3))):  # enemies spotted by the team: red dots, legitimately
        x, y = cx + rng.uniform(-0.6, 0.6) * r, cy + rng.uniform(-0.6, 0.6) * r
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(230, 40, 40))


NAMES = ("xX_Sn1per_Xx", "Ghost", "N00bMaster", "Kira", "Havoc", "m0nk", "ShadowFox", "Bravo-2", "Rook", "Vex")


def player_name(rng: np.random.Generator) -> str:
    return str(NAMES[rng.integers(len(NAMES))])


def soften(image: Image.Image, radius: float) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius)) if radius > 0 else image
