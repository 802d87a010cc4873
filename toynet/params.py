"""Flattening a network's parameters into one vector theta and back, in the course's order.

The gradient check perturbs one number at a time, so it needs every parameter in a single column vector.
The order is the course's `dictionary_to_vector` order: layer by layer, `W` before `b`, each block
row-major. For a 4-5-3-1 network that is W1 (20 entries), b1 (5), W2 (15), b2 (3), W3 (3), b3 (1): 47.

A `ParamLayout` records that order once (block names, shapes, where each block starts and stops in theta),
so the inverse needs no hard-coded shapes and the gradient vector is built in exactly the same order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from toynet._validate import as_array

_BLOCK_NAME = re.compile(r"^([Wb])([1-9][0-9]*)$")


@dataclass(frozen=True)
class Block:
    """One parameter block: its name (`"W2"`), shape, and the slice `theta[start:stop]` it occupies."""

    name: str
    shape: tuple[int, ...]
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class ParamLayout:
    """The blocks of a parameter vector, in course order. `size` is the length n of theta."""

    blocks: tuple[Block, ...]

    @classmethod
    def from_shapes(cls, shapes: Mapping[str, tuple[int, ...]]) -> ParamLayout:
        """Build the layout from block names and shapes, e.g. {"W1": (5, 4), "b1": (5, 1), ...}."""
        names = sorted(shapes, key=_course_order_key)
        layers = sorted({_course_order_key(name)[0] for name in names})
        expected = [f"{kind}{layer}" for layer in range(1, len(layers) + 1) for kind in "Wb"]
        if names != expected:
            missing = [name for name in expected if name not in names]
            extra = [name for name in names if name not in expected]
            raise ValueError(
                f"parameters must hold exactly the blocks {_listed(expected)}, but got {_listed(names)}"
                + (f"; missing {_listed(missing)}" if missing else "")
                + (f"; unexpected {_listed(extra)}" if extra else "")
            )
        blocks, start = [], 0
        for name in names:
            shape = tuple(int(d) for d in shapes[name])
            size = int(np.prod(shape, dtype=np.int64))
            blocks.append(Block(name, shape, start, start + size))
            start += size
        return cls(tuple(blocks))

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> ParamLayout:
        """Build the layout of a parameters dict {"W1": array, "b1": array, ...} (any key order)."""
        if not isinstance(parameters, Mapping):
            raise TypeError(f"parameters must be a dict of arrays, but got {type(parameters).__name__}")
        return cls.from_shapes({name: np.shape(value) for name, value in parameters.items()})

    @classmethod
    def from_layer_sizes(cls, layer_sizes: list[int]) -> ParamLayout:
        """Layout of a fully connected network with units `layer_sizes = [n_x, n_1, ..., n_L]`."""
        shapes: dict[str, tuple[int, ...]] = {}
        for layer, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:], strict=True), start=1):
            shapes[f"W{layer}"] = (n_out, n_in)
            shapes[f"b{layer}"] = (n_out, 1)
        return cls.from_shapes(shapes)

    @property
    def size(self) -> int:
        return self.blocks[-1].stop if self.blocks else 0

    @property
    def names(self) -> list[str]:
        return [block.name for block in self.blocks]

    @property
    def num_layers(self) -> int:
        return len(self.blocks) // 2

    def __getitem__(self, name: str) -> Block:
        for block in self.blocks:
            if block.name == name:
                return block
        raise KeyError(f"no block named {name!r}; the blocks are {_listed(self.names)}")

    @cached_property
    def keys(self) -> list[str]:
        """The block name of every entry of theta, as the course's `dictionary_to_vector` returns."""
        return [block.name for block in self.blocks for _ in range(block.size)]

    def block_of(self, index: int) -> tuple[Block, tuple[int, ...]]:
        """The block holding theta[index] and the entry's index inside that block, e.g. (W2, (1, 3))."""
        if not 0 <= index < self.size:
            raise IndexError(f"index must be in [0, {self.size}), but got {index}")
        for block in self.blocks:
            if index < block.stop:
                return block, tuple(int(i) for i in np.unravel_index(index - block.start, block.shape))
        raise AssertionError("unreachable")  # pragma: no cover

    def check_theta(self, theta: np.ndarray, name: str = "theta") -> np.ndarray:
        """Return theta as a flat (n,) array after checking it holds exactly `size` numbers."""
        theta = as_array(name, theta)
        if theta.ndim not in (1, 2) or (theta.ndim == 2 and theta.shape[1] != 1) or theta.size != self.size:
            raise ValueError(f"{name} must have shape ({self.size}, 1) or ({self.size},), but got {theta.shape}")
        return theta.reshape(-1)

    def check_blocks(self, arrays: Mapping[str, Any], prefix: str = "", what: str = "parameters") -> None:
        """Raise unless `arrays` holds exactly this layout's blocks (named prefix + name) with these shapes."""
        wanted = {prefix + block.name for block in self.blocks}
        present = {key for key in arrays if _BLOCK_NAME.match(key[len(prefix) :]) and key.startswith(prefix)}
        if present != wanted:
            missing, extra = sorted(wanted - present), sorted(present - wanted)
            raise ValueError(
                f"{what} must hold exactly {_listed(sorted(wanted, key=lambda k: _course_order_key(k[len(prefix):])))}"
                + (f"; missing {_listed(missing)}" if missing else "")
                + (f"; unexpected {_listed(extra)}" if extra else "")
            )
        for block in self.blocks:
            shape = np.shape(arrays[prefix + block.name])
            if shape != block.shape:
                raise ValueError(
                    f"{what}[{prefix + block.name!r}] must have shape {block.shape} (the shape of {block.name}), "
                    f"but got {shape}"
                )


def dictionary_to_vector(parameters: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Flatten {"W1", "b1", ..., "WL", "bL"} into theta: (n, 1), and the block name of every entry.

    Course order (layer by layer, W before b, row-major) whatever order the dict's keys come in.
    Returns a new array; `parameters` is not modified.
    """
    layout = ParamLayout.from_parameters(parameters)
    pieces = [as_array(f"parameters[{name!r}]", parameters[name]).reshape(-1) for name in layout.names]
    theta = np.concatenate(pieces).reshape(-1, 1) if pieces else np.zeros((0, 1))
    return theta, list(layout.keys)


def vector_to_dictionary(
    theta: np.ndarray, layout: ParamLayout | Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Unflatten theta: (n, 1) or (n,) into {"W1": ..., "b1": ...} with the shapes of `layout`.

    `layout` is a `ParamLayout` or a template dict of arrays (e.g. the parameters theta was made from).
    Every returned block is a fresh array, so writing into it never touches theta.
    """
    layout = _as_layout(layout)
    flat = layout.check_theta(theta)
    return {b.name: flat[b.start : b.stop].reshape(b.shape).copy() for b in layout.blocks}


def stack_to_dictionary(thetas: np.ndarray, layout: ParamLayout) -> dict[str, np.ndarray]:
    """Unflatten a stack of k parameter vectors, thetas: (k, n), into blocks of shape (k, *block.shape).

    The blocks are views into `thetas` (no copy: the gradient checker builds thousands of these).
    """
    if thetas.ndim != 2 or thetas.shape[1] != layout.size:
        raise ValueError(f"thetas must have shape (k, {layout.size}), but got {thetas.shape}")
    k = thetas.shape[0]
    return {b.name: thetas[:, b.start : b.stop].reshape((k, *b.shape)) for b in layout.blocks}


def gradients_to_vector(
    gradients: Mapping[str, np.ndarray], layout: ParamLayout | Mapping[str, np.ndarray] | None = None
) -> np.ndarray:
    """Flatten {"dW1", "db1", ...} into a column (n, 1) in the same order as `dictionary_to_vector`.

    Other keys (dZ1, dA2, ...) are ignored, and the keys may come in any order. With `layout` (a
    `ParamLayout` or the parameters dict), the gradient blocks must match the parameter blocks exactly.
    """
    if not isinstance(gradients, Mapping):
        raise TypeError(f"gradients must be a dict of arrays, but got {type(gradients).__name__}")
    grad_blocks = {key[1:]: value for key, value in gradients.items() if _BLOCK_NAME.match(key[1:]) and key[0] == "d"}
    if layout is None:
        layout = ParamLayout.from_parameters(grad_blocks)
    else:
        layout = _as_layout(layout)
        layout.check_blocks(gradients, prefix="d", what="gradients")
    pieces = [as_array(f"gradients['d{name}']", grad_blocks[name]).reshape(-1) for name in layout.names]
    return np.concatenate(pieces).reshape(-1, 1) if pieces else np.zeros((0, 1))


def _as_layout(layout: ParamLayout | Mapping[str, np.ndarray]) -> ParamLayout:
    if isinstance(layout, ParamLayout):
        return layout
    if isinstance(layout, Mapping):
        return ParamLayout.from_parameters(layout)
    raise TypeError(f"layout must be a ParamLayout or a parameters dict, but got {type(layout).__name__}")


def _course_order_key(name: str) -> tuple[int, int]:
    match = _BLOCK_NAME.match(name)
    if match is None:
        raise ValueError(f"parameter names must look like W1, b1, W2, b2, ..., but got {name!r}")
    return int(match.group(2)), "Wb".index(match.group(1))


def _listed(names: list[str]) -> str:
    return "[" + ", ".join(names) + "]" if names else "[]"
