"""Where a slot's GGUF file is, found as the seed's guide says (section 6)."""

from __future__ import annotations

from pathlib import Path


class ModelFileNotFound(Exception):
    def __init__(self, value: str, looked_in: list[Path]):
        places = ", ".join(str(p) for p in looked_in)
        super().__init__(f"GGUF model file not found: {value} (looked in: {places})")
        self.value = value
        self.looked_in = looked_in


def candidate_paths(value: str, *, models_dir: Path, project_dir: Path) -> list[Path]:
    """The places tried, in order: the value as a path (absolute or from the current directory),
    then the models folder, then the project root."""
    given = Path(value).expanduser()
    if given.is_absolute():
        return [given]
    places: list[Path] = []
    for place in (Path.cwd() / given, models_dir / given, project_dir / given):
        if place not in places:  # the current directory is often the project root
            places.append(place)
    return places


def find_model_file(value: str, *, models_dir: Path, project_dir: Path) -> Path:
    if not value.strip():
        raise ModelFileNotFound("(no file set)", [])
    places = candidate_paths(value.strip(), models_dir=models_dir, project_dir=project_dir)
    for place in places:
        if place.is_file():
            return place.resolve()
    raise ModelFileNotFound(value.strip(), places)
