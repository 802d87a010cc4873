"""`IPython.display` in the sandbox: everything a notebook may call, showing objects as text on its output.

Rich outputs (HTML, images, audio) have no one to see them while grading; their constructors accept what
IPython's accept, and `display` prints an object's plain-text form, as a terminal IPython does.
"""

from __future__ import annotations

from typing import Any


class DisplayObject:
    """Holds what it was given; shown as its plain-text form."""

    def __init__(self, data: Any = None, url: str | None = None, filename: str | None = None, **kwargs: Any) -> None:
        self.data, self.url, self.filename, self.metadata = data, url, filename, kwargs.get("metadata")

    def __repr__(self) -> str:
        shown = self.data if isinstance(self.data, str) else self.url or self.filename or ""
        return f"<{type(self).__name__} {str(shown)[:60]!r}>"


class HTML(DisplayObject):
    pass


class Markdown(DisplayObject):
    pass


class Latex(DisplayObject):
    pass


class Math(DisplayObject):
    pass


class SVG(DisplayObject):
    pass


class JSON(DisplayObject):
    pass


class Javascript(DisplayObject):
    pass


class Pretty(DisplayObject):
    pass


class Code(DisplayObject):
    pass


class Image(DisplayObject):
    def __init__(self, data: Any = None, url: str | None = None, filename: str | None = None, **kwargs: Any) -> None:
        super().__init__(data if not isinstance(data, bytes) else f"{len(data)} bytes", url, filename, **kwargs)


class Audio(Image):
    pass


class Video(Image):
    pass


class IFrame(DisplayObject):
    def __init__(self, src: str = "", width: Any = None, height: Any = None, **kwargs: Any) -> None:
        super().__init__(src, **kwargs)


class YouTubeVideo(IFrame):
    pass


class FileLink(DisplayObject):
    def __init__(self, path: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(path)


FileLinks = FileLink


class DisplayHandle:
    def __init__(self, display_id: str | None = None) -> None:
        self.display_id = display_id

    def display(self, obj: Any, **kwargs: Any) -> None:
        display(obj, **kwargs)

    def update(self, obj: Any, **kwargs: Any) -> None:
        display(obj, **kwargs)


def display(*objs: Any, include: Any = None, exclude: Any = None, metadata: Any = None, transient: Any = None,
            display_id: Any = None, raw: bool = False, clear: bool = False, **kwargs: Any) -> DisplayHandle | None:
    for obj in objs:
        print(obj if isinstance(obj, str) else repr(obj))
    return DisplayHandle(display_id if isinstance(display_id, str) else None) if display_id else None


def _display_as(*objs: Any, raw: bool = False, **kwargs: Any) -> None:
    display(*objs)


display_pretty = display_html = display_markdown = display_latex = display_json = _display_as
display_javascript = display_svg = display_png = display_jpeg = display_pdf = _display_as


def update_display(obj: Any, *, display_id: Any = None, **kwargs: Any) -> None:
    display(obj)


def clear_output(wait: bool = False) -> None:
    """Nothing is shown while grading, so nothing is cleared."""


def set_matplotlib_formats(*formats: str, **kwargs: Any) -> None:
    """Figures are discarded while grading."""
