"""The SystemInfo stream: OS, CPU and the strings rust-minidump derives from them."""

from __future__ import annotations

from crashproc.records import Record
from stackwalk.minidump import format as fmt
from stackwalk.minidump.reader import Reader
from stackwalk.minidump.strings import utf16_string

_SYSTEM_INFO = "HHHBBIIIIIHH24s"  # 56 bytes

ARM_VENDORS = {0x41: "ARM", 0x51: "Qualcomm", 0x56: "Marvell", 0x69: "Intel/Marvell"}
ARM_PARTS = {
    0x4100C050: "Cortex-A5",
    0x4100C080: "Cortex-A8",
    0x4100C090: "Cortex-A9",
    0x4100C0F0: "Cortex-A15",
    0x4100C140: "Cortex-R4",
    0x4100C150: "Cortex-R5",
    0x4100B360: "ARM1136",
    0x4100B560: "ARM1156",
    0x4100B760: "ARM1176",
    0x4100B020: "ARM11-MPCore",
    0x41009260: "ARM926",
    0x41009460: "ARM946",
    0x41009660: "ARM966",
    0x510006F0: "Krait",
    0x510000F0: "Scorpion",
}
# Linux AT_HWCAP bits for 32-bit ARM, in the order rust-minidump lists them.
ARM_HWCAPS = (
    (1 << 0, "swp"),
    (1 << 1, "half"),
    (1 << 2, "thumb"),
    (1 << 3, "26bit"),
    (1 << 4, "fastmult"),
    (1 << 5, "fpa"),
    (1 << 6, "vfpv2"),
    (1 << 7, "edsp"),
    (1 << 8, "java"),
    (1 << 9, "iwmmxt"),
    (1 << 10, "crunch"),
    (1 << 11, "thumbee"),
    (1 << 12, "neon"),
    (1 << 13, "vfpv3"),
    (1 << 14, "vfpv3d16"),
    (1 << 15, "tls"),
    (1 << 16, "vfpv4"),
    (1 << 17, "idiva"),
    (1 << 18, "idivt"),
)


class SystemInfo(Record):
    processor_architecture: int
    processor_level: int
    processor_revision: int
    number_of_processors: int
    major_version: int
    minor_version: int
    build_number: int
    platform_id: int
    csd_version: str | None
    cpu_info: str | None

    def __init__(
        self,
        processor_architecture: int,
        processor_level: int,
        processor_revision: int,
        number_of_processors: int,
        major_version: int,
        minor_version: int,
        build_number: int,
        platform_id: int,
        csd_version: str | None,
        cpu_info: str | None,
    ) -> None:
        self.processor_architecture = processor_architecture
        self.processor_level = processor_level
        self.processor_revision = processor_revision
        self.number_of_processors = number_of_processors
        self.major_version = major_version
        self.minor_version = minor_version
        self.build_number = build_number
        self.platform_id = platform_id
        self.csd_version = csd_version
        self.cpu_info = cpu_info

    _fields = (
        "processor_architecture",
        "processor_level",
        "processor_revision",
        "number_of_processors",
        "major_version",
        "minor_version",
        "build_number",
        "platform_id",
        "csd_version",
        "cpu_info",
    )

    @property
    def cpu(self) -> str:
        """rust-minidump's CPU name: x86, amd64, arm, arm64, ... or "unknown"."""
        return fmt.CPU_BY_ARCH.get(self.processor_architecture, "unknown")

    @property
    def pointer_width(self) -> int | None:
        return fmt.CPU_POINTER_WIDTH.get(self.cpu)

    @property
    def os_key(self) -> str:
        """Short OS name (windows, mac, ios, linux, android, ...) or "unknown"."""
        known = fmt.OS_BY_PLATFORM.get(self.platform_id)
        return known[1] if known else "unknown"

    @property
    def os_name(self) -> str:
        """The JSON `os`; unknown platforms print as rust does ("0x" + {:#08x})."""
        known = fmt.OS_BY_PLATFORM.get(self.platform_id)
        return known[0] if known else "0x" + format(self.platform_id, "#08x")

    def os_parts(self) -> tuple[str, str | None]:
        """(version, build), re-parsing `uname -srvmo` text for Linux dumps with 0.0.0."""
        version = f"{self.major_version}.{self.minor_version}.{self.build_number}"
        build = (self.csd_version or "").strip() or None
        if self.platform_id != fmt.PLATFORM_LINUX or version != "0.0.0":
            return version, build
        parts = (self.csd_version or "").split(" ")
        if len(parts) < 2:
            return version, build
        linux_version, rest = parts[1], parts[2:]
        if rest:
            last = rest.pop()
            if last == "Linux/GNU" and rest:
                rest.pop()
        if linux_version == "0.0.0":
            return version, build
        return linux_version, " ".join(rest)

    def os_version(self) -> str:
        version, build = self.os_parts()
        return f"{version} {build}" if build is not None else version


def _cpu_info(arch_cpu: str, level: int, revision: int, cpu_data: bytes, endian: str) -> str | None:
    r = Reader(cpu_data, endian)
    if arch_cpu in ("x86", "amd64"):
        text = ""
        if arch_cpu == "x86":
            vendor = b"".join(r.u32(i * 4).to_bytes(4, "little") for i in range(3))
            text = vendor.decode("latin-1") + " "
        return text + f"family {level} model {(revision >> 8) & 0xFF} stepping {revision & 0xFF}"
    if arch_cpu == "arm":
        cpuid, hwcaps = r.unpack("II", 0)
        text = f"ARMv{level}"
        if cpuid:
            vendor_id = (cpuid >> 24) & 0xFF
            part_id = cpuid & 0xFF00FFF0
            vendor = ARM_VENDORS.get(vendor_id)
            text += f" {vendor}" if vendor else f" vendor({vendor_id:#x})"
            part = ARM_PARTS.get(part_id)
            text += f" {part}" if part else f" part({part_id:#x})"
        features = [name for bit, name in ARM_HWCAPS if hwcaps & bit]
        if features:
            text += " features: " + ",".join(features)
        return text
    return None


def parse_system_info(data: Reader, whole: Reader) -> SystemInfo:
    (arch, level, revision, cpus, _product, major, minor, build, platform, csd_rva, _suite, _r,
     cpu_data) = data.unpack(_SYSTEM_INFO, 0, "system info")  # fmt: skip
    cpu = fmt.CPU_BY_ARCH.get(arch, "unknown")
    return SystemInfo(
        processor_architecture=arch,
        processor_level=level,
        processor_revision=revision,
        number_of_processors=cpus,
        major_version=major,
        minor_version=minor,
        build_number=build,
        platform_id=platform,
        csd_version=utf16_string(whole, csd_rva),
        cpu_info=_cpu_info(cpu, level, revision, cpu_data, data.endian),
    )
