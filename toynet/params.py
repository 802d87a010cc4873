"""Flattening a network's parameters into one vector theta and back, in the course's order.

The gradient check perturbs one number at a time, so it needs every parameter in a single column vector.
The order is the course's `dictionary_to_vector` order: layer by layer, `W` before `b`, each block
row-major. For a 4-5-3-1 network that is W1 (20 entries), b1 (5), W2 (15), b2 (3), W3 (3), b3 (1): 47.
A `ParamLayout` records that order once (block names, shapes, each block's slice of theta). Parameters named
otherwise (cs231n's batch-norm gamma1, beta1, ...) keep the order their dict gives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from toynet._validate import as_array, check_finite


def dictionary_to_vector(parameters: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Flatten {"W1", "b1", ..., "WL", "bL"} into a new theta: (n, 1), and the block name of every entry, in
    course order (layer by layer, W before b, row-major) whatever order the dict's keys come in (names of the
    caller's own, e.g. gamma1, keep the dict's order)."""
    layout = ParamLayout.from_parameters(parameters)
    return layout.read(parameters)[1].reshape(-1, 1), list(layout.keys)


def vector_to_dictionary(theta: np.ndarray, layout: ParamLayout | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Unflatten theta: (n, 1) or (n,) into {"W1": ..., "b1": ...} with the shapes of `layout`.

    `layout` is a `ParamLayout` or a template dict of arrays (e.g. the parameters theta was made from).
    Every returned block is a fresh array, so writing into it never touches theta.
    """
    layout, theta = _as_layout(layout), as_array("theta", theta)
    if theta.ndim not in (1, 2) or (theta.ndim == 2 and theta.shape[1] != 1) or theta.size != layout.size:
        raise ValueError(f"theta must have shape ({layout.size}, 1) or ({layout.size},), but got {theta.shape}")
    return layout.split(theta.reshape(-1))


def gradients_to_vector(
    gradients: Mapping[str, np.ndarray], layout: ParamLayout | Mapping[str, np.ndarray] | None = None
) -> np.ndarray:
    """Flatten {"dW1", "db1", ...} into a column (n, 1) in the same order as `dictionary_to_vector`.

    Other keys (dZ1, dA2, ...) are ignored, and the keys may come in any order. With `layout` (a
    `ParamLayout` or the parameters dict), the gradient blocks must match the parameter blocks exactly.
    """
    if layout is None:
        if not isinstance(gradients, Mapping):
            raise TypeError(f"gradients must be a dict of arrays, but got {type(gradients).__name__}")
        layout = ParamLayout.from_parameters({k[1:]: gradients[k] for k in _block_keys(frozenset(gradients), "d")})
    return _as_layout(layout).read(gradients, prefix="d", what="gradients")[1].reshape(-1, 1)


# ------------------------------------------------------------------------------------------ the layout they share

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
        """Build the layout from block names and shapes, e.g. {"W1": (5, 4), "b1": (5, 1), ...}.

        Names that all look like the course's (W1, b1, ..., WL, bL) take the course's order whatever order they
        come in, and must be complete; any other names (cs231n's gamma1, beta1, ...) keep the order given."""
        if not shapes:
            raise ValueError("parameters must hold at least one array, but got an empty dict")
        strange = [name for name in shapes if not isinstance(name, str)]
        if strange:
            raise TypeError(f"parameter names must be strings, but got {strange[0]!r}")
        names = list(shapes)
        if all(_BLOCK_NAME.match(name) for name in names):
            names = sorted(shapes, key=_course_order_key)
            layers = sorted({_course_order_key(name)[0] for name in names})
            expected = [f"{kind}{layer}" for layer in range(1, len(layers) + 1) for kind in "Wb"]
            if names != expected:
                raise ValueError(f"parameters must hold exactly the blocks {_listed(expected)}, but got "
                                 f"{_listed(names)}" + _missing_and_extra(expected, names))
        sizes = [int(np.prod(shapes[name], dtype=np.int64)) for name in names]
        stops = np.cumsum([0, *sizes]).tolist()
        return cls(tuple(Block(name, tuple(int(d) for d in shapes[name]), start, stop)
                         for name, start, stop in zip(names, stops[:-1], stops[1:], strict=True)))

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> ParamLayout:
        """Build the layout of a parameters dict {"W1": array, "b1": array, ...} (any key order)."""
        if not isinstance(parameters, Mapping):
            raise TypeError(f"parameters must be a dict of arrays, but got {type(parameters).__name__}")
        return _layout_of(tuple((name, value.shape if isinstance(value, np.ndarray) else np.shape(value))
                                for name, value in parameters.items()))

    @classmethod
    def from_layer_sizes(cls, layer_sizes: list[int]) -> ParamLayout:
        """Layout of a fully connected network with units `layer_sizes = [n_x, n_1, ..., n_L]`."""
        pairs = enumerate(zip(layer_sizes[:-1], layer_sizes[1:], strict=True), start=1)
        return _layout_of(tuple((f"{kind}{layer}", (n_out, n_in if kind == "W" else 1))
                                for layer, (n_in, n_out) in pairs for kind in "Wb"))

    @property
    def size(self) -> int:
        return self.blocks[-1].stop if self.blocks else 0

    @cached_property
    def names(self) -> list[str]:
        return [block.name for block in self.blocks]

    @cached_property
    def course_names(self) -> bool:
        """Whether the blocks are the course's W1, b1, ..., WL, bL (else names of the caller's own, in their order)."""
        return all(_BLOCK_NAME.match(name) for name in self.names)

    @property
    def num_layers(self) -> int:
        return len(self.blocks) // 2

    def __getitem__(self, name: str) -> Block:
        if name not in self.names:
            raise KeyError(f"no block named {name!r}; the blocks are {_listed(self.names)}")
        return self.blocks[self.names.index(name)]

    @cached_property
    def keys(self) -> list[str]:
        """The block name of every entry of theta, as the course's `dictionary_to_vector` returns."""
        return [block.name for block in self.blocks for _ in range(block.size)]

    def block_of(self, index: int) -> tuple[Block, tuple[int, ...]]:
        """The block holding theta[index] and the entry's index inside that block, e.g. (W2, (1, 3))."""
        if not 0 <= index < self.size:
            raise IndexError(f"index must be in [0, {self.size}), but got {index}")
        block = next(block for block in self.blocks if index < block.stop)
        rest, position = int(index) - block.start, []
        for size in reversed(block.shape):  # np.unravel_index's C order, without its microseconds per call
            rest, inner = divmod(rest, size)
            position.append(inner)
        return block, tuple(reversed(position))

    def label(self, index: int) -> str:
        """How theta[index] is called in messages, e.g. "W2[1, 3]" (cached per layout: checks name the same few)."""
        return _label(self, int(index))

    def __hash__(self) -> int:  # cached: layouts key the caches of the gradient checker, hashed on every check
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash(self.blocks)

    @cached_property
    def keys_by_prefix(self) -> dict[str, list[str]]:
        """The blocks' keys in a dict: the names ("W1", ...) under "", the gradients' ("dW1", ...) under "d"."""
        return {prefix: [prefix + block.name for block in self.blocks] for prefix in ("", "d")}

    @cached_property
    def key_sets(self) -> dict[str, frozenset[str]]:
        """keys_by_prefix as sets, built once: `read` compares a dict's keys with them on every check."""
        return {prefix: frozenset(keys) for prefix, keys in self.keys_by_prefix.items()}

    def split(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """theta (n,), already checked -> {"W1": ..., ...}, each block a fresh array (writes never reach theta)."""
        return {b.name: theta[b.start : b.stop].reshape(b.shape).copy() for b in self.blocks}

    def read(self, arrays: Mapping[str, Any], prefix: str = "", what: str = "parameters"
             ) -> tuple[list[np.ndarray], np.ndarray]:
        """The blocks of `arrays` (keys prefix + name, prefix "" or "d") in course order, as they are (ints as
        float64), and all of them in one fresh vector (n,); raises unless `arrays` is a dict holding exactly these
        blocks, with these shapes, numeric and finite (other keys, e.g. dZ1 in gradients, are ignored)."""
        if not isinstance(arrays, Mapping):
            raise TypeError(f"{what} must be a dict of arrays, but got {type(arrays).__name__}")
        wanted, wanted_set = self.keys_by_prefix[prefix], self.key_sets[prefix]
        if arrays.keys() != wanted_set:
            wanted = self._keys_in(arrays, prefix, what)
        blocks = []
        for block, key in zip(self.blocks, wanted, strict=True):
            array = arrays[key]
            if not (type(array) is np.ndarray and array.dtype.kind in "fc"):  # the usual case needs no conversion
                array = as_array(f"{what}[{key!r}]", array)
            if array.shape != block.shape:
                raise ValueError(f"{what}[{key!r}] must have shape {block.shape} (the shape of {block.name}), "
                                 f"but got {array.shape}")
            blocks.append(array)
        flat = np.concatenate([array.ravel() for array in blocks]) if blocks else np.zeros(0)
        if not np.isfinite(flat).all():  # one test for all blocks, then the message names the first bad one
            for array, key in zip(blocks, wanted, strict=True):
                check_finite(f"{what}[{key!r}]", array)
        return blocks, flat

    def _keys_in(self, arrays: Mapping[str, Any], prefix: str, what: str) -> list[str]:
        """The keys of `arrays` holding the blocks, when its keys are not exactly them: the course's blocks must be
        there and nothing else that looks like one; names of the caller's own must be there (other keys ignored),
        and gradients may carry the parameters' own names (cs231n's grads["gamma1"]) instead of "dgamma1"."""
        wanted, wanted_set = self.keys_by_prefix[prefix], self.key_sets[prefix]
        if self.course_names:
            present = _block_keys(frozenset(arrays), prefix)
            if present != wanted_set:
                raise ValueError(f"{what} must hold exactly {_listed(wanted)}"
                                 + _missing_and_extra(wanted, list(present)))
            return wanted
        if wanted_set <= arrays.keys():
            return wanted
        if prefix and self.key_sets[""] <= arrays.keys():
            return self.keys_by_prefix[""]
        missing = [key for key in wanted if key not in arrays]
        also = f" (or the parameters' own names {_listed(self.names)})" if prefix else ""
        raise ValueError(f"{what} must hold {_listed(wanted)}{also}; missing {_listed(missing)}")


@lru_cache(maxsize=64)
def _block_keys(keys: frozenset[Any], prefix: str) -> frozenset[str]:
    """The keys named prefix + a block name (W1, b1, ...): the one rule for which keys count (cached by key set)."""
    return frozenset(key for key in keys
                     if isinstance(key, str) and key.startswith(prefix) and _BLOCK_NAME.match(key[len(prefix):]))


def _as_layout(layout: ParamLayout | Mapping[str, np.ndarray]) -> ParamLayout:
    if isinstance(layout, ParamLayout | Mapping):
        return layout if isinstance(layout, ParamLayout) else ParamLayout.from_parameters(layout)
    raise TypeError(f"layout must be a ParamLayout or a parameters dict, but got {type(layout).__name__}")


@lru_cache(maxsize=64)
def _layout_of(shapes: tuple[tuple[str, tuple[int, ...]], ...]) -> ParamLayout:
    """The layout of these (name, shape) pairs, built once (a check of a small network takes ~0.2 ms)."""
    return ParamLayout.from_shapes(dict(shapes))


def _course_order_key(name: str) -> tuple[int, int]:
    match = _BLOCK_NAME.match(name)
    if match is None:
        raise ValueError(f"parameter names must look like W1, b1, W2, b2, ..., but got {name!r}")
    return int(match.group(2)), "Wb".index(match.group(1))


def _missing_and_extra(wanted: list[str], present: list[str]) -> str:
    """'; missing [b2]; unexpected [dW4]' (the parts that apply) for an error message."""
    missing, extra = [k for k in wanted if k not in present], sorted(set(present) - set(wanted))
    return (f"; missing {_listed(missing)}" if missing else "") + (f"; unexpected {_listed(extra)}" if extra else "")


def _listed(names: list[str]) -> str:
    return f"[{', '.join(names)}]"


@lru_cache(maxsize=4096)
def _label(layout: ParamLayout, index: int) -> str:
    block, position = layout.block_of(index)
    return f"{block.name}[{', '.join(map(str, position))}]"
