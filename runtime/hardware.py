"""The AIPU v1 hardware model: every figure the compiler and the cost model use, with its source.

Sources:
  [CFG]  ../shared/reference/compiler-config-full-reference.md (CompilerConfig defaults).
  [ISSCC] Axelera AI, "Metis AIPU", ISSCC 2024: 4 cores, 512x512 int8 in-memory-compute MVM per
         core, about 52 TOPS int8 per core at 800 MHz.
  [MODEL] our modelling choice, documented here; change it here only.

All sizes are bytes, times are cycles of the core clock, bandwidths are bytes per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

PWORD_BYTES = 64  # [CFG] apply_pword_padding: channel counts padded to a multiple of the PWORD.


@dataclass(frozen=True)
class Hardware:
    """The figures of one AIPU configuration (defaults: AIPU v1 at 800 MHz, whole chip).

    The memory budgets (:attr:`l1_budget`, :attr:`l2_budget`, :attr:`ddr_budget`) are derived here and
    only here: L1 is per core and not scaled; L2 and DDR are shared by the chip and scaled by
    ``resources_used``.
    """

    cores: int = 4  # [ISSCC]
    frequency_hz: int = 800_000_000  # [CFG] frequency default and maximum
    # MVM: 512 x 512 int8 in-memory compute array, one 512-element input vector every 8 cycles
    # (bit-serial inputs): 512*512/8 = 32,768 MACs/cycle, 2*32768*800e6 = 52.4 TOPS/core. [ISSCC]
    mvm_rows: int = 512  # input (K) dimension of a weight set
    mvm_cols: int = 512  # output-channel dimension of a weight set
    mvm_cycles_per_vector: int = 8
    # Loading a weight set: 512 x 512 bytes over a 64-byte/cycle path. [MODEL]
    weight_load_bytes_per_cycle: int = 64
    # DPU: one PWORD (64 int8 lanes) per cycle for elementwise ops. [MODEL after CFG PWORD]
    dpu_bytes_per_cycle: int = PWORD_BYTES
    # DWPU: depthwise conv / pooling, one PWORD of output per kernel tap per cycle. [MODEL]
    dwpu_bytes_per_cycle: int = PWORD_BYTES
    # DMA: core DMA (L2/DDR <-> L1) and system DMA (DDR <-> L2); dual channel. [MODEL]
    dma_l2_bytes_per_cycle: int = 64
    dma_ddr_bytes_per_cycle: int = 16
    dma_setup_cycles: int = 32
    dma_channels: int = 2  # [CFG] dma_dual_channel
    # Shared by the cores: the DDR interface and the L2 carry this many bytes per cycle in total,
    # i.e. 4 DMA transfers at a time at the per-transfer rates above: as many as one core's DMA
    # queues (core and system DMA, 2 channels each), so only several cores contend. [MODEL]
    ddr_bytes_per_cycle: int = 64
    l2_bytes_per_cycle: int = 256
    instruction_issue_cycles: int = 4  # per task-list entry [MODEL]
    # Memories. [CFG] defaults
    l1_size: int = 4_194_304  # l1_size_used
    l1_reserved: int = 524_288  # l1_size_reserved
    l2_size: int = 33_554_432  # l2_size_used
    l2_reserved: int = 1_245_184  # l2_size_reserved
    l2_tasklist_per_core: int = 1_048_576  # l2_size_reserved_tasklist
    ddr_size: int = 1_073_741_824  # ddr_size_used
    ddr_reserved: int = 33_554_432  # ddr_size_reserved
    resources_used: float = 1.0  # [CFG] fraction of the memory budget this model may use
    cores_used: int = 1  # [CFG] aipu_cores_used

    @property
    def macs_per_cycle(self) -> int:
        """Peak int8 MACs per cycle and core: rows * cols / cycles per vector (32,768)."""
        return self.mvm_rows * self.mvm_cols // self.mvm_cycles_per_vector

    @property
    def l1_budget(self) -> int:
        """L1 bytes the compiler may use per core: size - reserved (each core has its own L1)."""
        return self.l1_size - self.l1_reserved

    @property
    def l2_budget(self) -> int:
        """Shared L2 bytes for this model: (size - reserved - tasklists) * resources_used."""
        free = self.l2_size - self.l2_reserved - self.l2_tasklist_per_core * self.cores
        return int(free * self.resources_used)

    @property
    def ddr_budget(self) -> int:
        """DDR bytes for this model: (size - reserved) * resources_used."""
        return int((self.ddr_size - self.ddr_reserved) * self.resources_used)

    def with_(self, **changes) -> Hardware:
        """A copy with some figures changed (e.g. from the compiler configuration)."""
        return replace(self, **changes)


AIPU_V1 = Hardware()


def pword_padded(channels: int, pword: int = PWORD_BYTES) -> int:
    """Channels rounded up to a multiple of the PWORD (pword <= 1 disables the padding)."""
    if pword <= 1:
        return channels
    return -(-channels // pword) * pword
