"""Pure poll planning: which reads cover a unit's inputs, and how to read one input from the replies."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.devices import InputRef, InputType
from edge.drivers.modbus_frame import MAX_BITS, MAX_REGISTERS, Function

FUNCTION_OF: dict[InputType, Function] = {
    "coil": Function.READ_COILS,
    "discrete_input": Function.READ_DISCRETE_INPUTS,
    "holding_register_bit": Function.READ_HOLDING_REGISTERS,
    "input_register_bit": Function.READ_INPUT_REGISTERS,
}

# A gap this small between wanted addresses is read through rather than split into two requests:
# on RS-485 every extra request costs ~8 bytes + 3.5 character gaps, far more than a few bits or registers.
MERGE_GAP_BITS = 64
MERGE_GAP_REGISTERS = 8


@dataclass(frozen=True, slots=True)
class Read:
    function: Function
    address: int
    count: int


def plan_reads(refs: list[InputRef]) -> list[Read]:
    """The fewest reads covering every referenced address, per function, within Modbus limits."""
    by_fn: dict[Function, set[int]] = {}
    for ref in refs:
        by_fn.setdefault(FUNCTION_OF[ref.type], set()).add(ref.address)
    reads: list[Read] = []
    for fn in sorted(by_fn):
        limit, gap = (MAX_BITS, MERGE_GAP_BITS) if fn.is_bits else (MAX_REGISTERS, MERGE_GAP_REGISTERS)
        addresses = sorted(by_fn[fn])
        start = prev = addresses[0]
        for a in addresses[1:]:
            if a - prev > gap or a - start + 1 > limit:
                reads.append(Read(fn, start, prev - start + 1))
                start = a
            prev = a
        reads.append(Read(fn, start, prev - start + 1))
    return reads


def sample(ref: InputRef, reads: list[Read], results: list[tuple[int, ...]]) -> bool:
    """Whether `ref` is active, given each read's values; NC contacts (`inverted`) are active at 0."""
    fn = FUNCTION_OF[ref.type]
    for read, values in zip(reads, results, strict=True):
        if read.function is fn and read.address <= ref.address < read.address + read.count:
            raw = values[ref.address - read.address]
            on = bool((raw >> ref.bit) & 1) if ref.bit is not None else bool(raw)
            return on != ref.inverted
    raise KeyError(f"no read covers {ref.type} {ref.address}")
