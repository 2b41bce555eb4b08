"""The demo platform's catalogue: titles, devices, the DRM matrix, bitrate ladders and quality.

Deterministic (seeded) so every instance of every service agrees on the same titles.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

DRM_SYSTEMS = ("widevine", "playready", "fairplay")

# Which DRM systems each device family can decrypt, as in the wild: FairPlay on Apple
# devices, PlayReady on Microsoft ones, Widevine on Android and Chrome; TVs carry two.
DEVICE_DRM: dict[str, tuple[str, ...]] = {
    "smart_tv": ("widevine", "playready"),
    "android_phone": ("widevine",),
    "iphone": ("fairplay",),
    "chrome_browser": ("widevine",),
    "safari_browser": ("fairplay",),
    "edge_browser": ("playready", "widevine"),
    "apple_tv": ("fairplay",),
    "xbox": ("playready",),
    "roku": ("widevine", "playready"),
}
# Share of sessions per device family (TVs dominate viewing hours).
DEVICE_SHARE: dict[str, float] = {
    "smart_tv": 0.34,
    "android_phone": 0.16,
    "iphone": 0.12,
    "chrome_browser": 0.10,
    "safari_browser": 0.04,
    "edge_browser": 0.04,
    "apple_tv": 0.06,
    "xbox": 0.04,
    "roku": 0.10,
}
GENRES = ("drama", "comedy", "documentary", "animation", "action", "thriller", "reality", "anime")
# Animation compresses well, action and grainy thrillers do not: the per-title premise.
GENRE_COMPLEXITY = {
    "animation": 0.15,
    "anime": 0.25,
    "documentary": 0.4,
    "reality": 0.45,
    "comedy": 0.45,
    "drama": 0.55,
    "thriller": 0.7,
    "action": 0.85,
}
SEGMENT_SECONDS = 4.0
FRAME_RATE = 24.0


@dataclass(frozen=True)
class Title:
    title_id: str
    name: str
    genre: str
    complexity: float  # 0 (static, flat) … 1 (grain, fast motion)
    runtime_s: int


@dataclass(frozen=True)
class Rendition:
    """One rung of a bitrate ladder; ``name`` is what segment URLs use (``1080p-5800``)."""

    width: int
    height: int
    bitrate_kbps: int

    @property
    def name(self) -> str:
        return f"{self.height}p-{self.bitrate_kbps}"

    @property
    def segment_bytes(self) -> int:
        return int(self.bitrate_kbps * 1000 / 8 * SEGMENT_SECONDS)


# The fixed ladder per-title encoding replaced (Netflix tech blog, 2015), plus a 4K rung.
FIXED_LADDER = (
    Rendition(320, 240, 235),
    Rendition(384, 288, 375),
    Rendition(512, 384, 560),
    Rendition(512, 384, 750),
    Rendition(640, 480, 1050),
    Rendition(720, 480, 1750),
    Rendition(1280, 720, 2350),
    Rendition(1280, 720, 3000),
    Rendition(1920, 1080, 4300),
    Rendition(1920, 1080, 5800),
    Rendition(3840, 2160, 16000),
)
# The best VMAF a resolution can reach when upscaled to a 1080p screen.
_RESOLUTION_CEILING = {240: 40.0, 288: 48.0, 384: 60.0, 480: 74.0, 720: 88.0, 1080: 96.0, 2160: 99.0}
_ADJECTIVES = (
    "Silent",
    "Crimson",
    "Last",
    "Hidden",
    "Broken",
    "Northern",
    "Electric",
    "Lost",
    "Golden",
    "Midnight",
    "Wild",
    "Iron",
    "Paper",
    "Glass",
    "Distant",
    "Burning",
)
_NOUNS = (
    "Harbor",
    "Kingdom",
    "Signal",
    "Orchard",
    "Frontier",
    "Archive",
    "Tide",
    "Empire",
    "Garden",
    "Circuit",
    "Summit",
    "Voyage",
    "Witness",
    "Lantern",
    "Canyon",
    "Echo",
)


def _build_titles(count: int = 160, seed: int = 7) -> dict[str, Title]:
    rng = random.Random(seed)
    titles: dict[str, Title] = {}
    for index in range(count):
        genre = GENRES[index % len(GENRES)]
        complexity = min(1.0, max(0.0, rng.gauss(GENRE_COMPLEXITY[genre], 0.08)))
        title_id = str(80_100_000 + index * 37)
        name = f"{_ADJECTIVES[rng.randrange(16)]} {_NOUNS[rng.randrange(16)]}"
        runtime = rng.choice((22, 25, 45, 52, 58, 96, 118, 134)) * 60
        titles[title_id] = Title(title_id, name, genre, round(complexity, 3), runtime)
    return titles


TITLES: dict[str, Title] = _build_titles()
# Index 0 is the most popular: sessions pick titles by a Zipf law over this order.
POPULARITY: tuple[str, ...] = tuple(TITLES)


def compatible(device: str, drm_system: str) -> bool:
    return drm_system in DEVICE_DRM.get(device, ())


def vmaf_estimate(rendition: Rendition, complexity: float) -> float:
    """A VMAF-like score (0–100) for a rendition of content of the given complexity.

    Quality rises with bits per pixel with diminishing returns, towards a ceiling set by
    the resolution; complex content needs more bits for the same score.
    """
    bits_per_pixel = rendition.bitrate_kbps * 1000 / (rendition.width * rendition.height * FRAME_RATE)
    needed = 0.01 + 0.045 * complexity  # bits per pixel for ~63% of the ceiling
    ceiling = _RESOLUTION_CEILING[rendition.height]
    return ceiling * (1.0 - math.exp(-bits_per_pixel / needed))


def per_title_ladder(complexity: float) -> list[Rendition]:
    """The ladder for one title: bitrates scaled to its complexity, useless rungs dropped.

    Simple content gets lower bitrates at each resolution; a rung is kept only if it
    improves quality by at least 2 VMAF points over the one below it.
    """
    scale = 0.45 + 1.1 * complexity
    ladder: list[Rendition] = []
    best = 0.0
    for rung in FIXED_LADDER:
        scaled = Rendition(rung.width, rung.height, max(100, int(round(rung.bitrate_kbps * scale, -1))))
        quality = vmaf_estimate(scaled, complexity)
        if quality >= best + 2.0:
            ladder.append(scaled)
            best = quality
    return ladder


def find_rendition(title: Title, name: str) -> Rendition | None:
    return next((r for r in per_title_ladder(title.complexity) if r.name == name), None)
