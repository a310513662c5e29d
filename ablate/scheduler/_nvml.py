"""The few NVML queries the device pool needs, behind a protocol that tests can fake."""

from __future__ import annotations

from typing import Protocol


class NvmlUnavailableError(Exception):
    """NVML (the NVIDIA driver's management library) cannot be loaded here."""


class NvmlLike(Protocol):
    """GPUs by physical index, in NVML's (PCI bus) order."""

    def device_count(self) -> int: ...

    def name(self, index: int) -> str: ...

    def uuid(self, index: int) -> str: ...

    def memory(self, index: int) -> tuple[int, int]:
        """(free, total) bytes of device memory, as all processes on the machine see it."""
        ...


class PynvmlNvml:
    """The real NVML through ``pynvml`` (package nvidia-ml-py)."""

    def __init__(self) -> None:
        try:
            import pynvml
        except ImportError as exc:  # pragma: no cover - nvidia-ml-py is a dependency
            raise NvmlUnavailableError(f"pynvml is not installed ({exc})") from None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise NvmlUnavailableError(str(exc)) from None
        self._nvml = pynvml

    def _handle(self, index: int) -> object:  # an opaque NVML handle
        return self._nvml.nvmlDeviceGetHandleByIndex(index)

    def device_count(self) -> int:
        return int(self._nvml.nvmlDeviceGetCount())

    def name(self, index: int) -> str:
        return _text(self._nvml.nvmlDeviceGetName(self._handle(index)))

    def uuid(self, index: int) -> str:
        return _text(self._nvml.nvmlDeviceGetUUID(self._handle(index)))

    def memory(self, index: int) -> tuple[int, int]:
        info = self._nvml.nvmlDeviceGetMemoryInfo(self._handle(index))
        return int(info.free), int(info.total)


def _text(value: str | bytes) -> str:
    # Older pynvml releases return bytes.
    return value.decode() if isinstance(value, bytes) else str(value)


def load_nvml() -> NvmlLike:
    """The real NVML, or ``NvmlUnavailableError`` saying why not (no driver, no library)."""
    return PynvmlNvml()
