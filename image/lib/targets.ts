// The two image targets and everything that differs between them, as data.
import type { ModuleKeep } from './modules.ts';

export type Arch = 'x64' | 'arm64';

export interface Target {
  /** Node's name for the CPU (node-linux-<arch> package, prebuilds/linux-<arch>). */
  readonly arch: Arch;
  /** Debian's name for the CPU. */
  readonly debianArch: 'amd64' | 'arm64';
  /** Debian packages beyond minbase; only what the appliance needs. */
  readonly packages: readonly string[];
  /** The UART that carries Yubin's console (the last console= on the kernel command line). */
  readonly serialConsole: string;
  /**
   * Kernel modules the initramfs carries (MODULES=list): what reaches the root disk on the boards
   * we support. MODULES=most takes many minutes to pack, far longer still under qemu-user.
   */
  readonly initrdModules: readonly string[];
  /** GNU triplet prefix of the cross toolchain, empty when building on the same CPU. */
  readonly crossPrefix: string;
  /**
   * A/B root slots (image/lib/slots.ts): squashfs roots with their own kernel, GRUB or U-Boot, and RAUC.
   * Without: one ext4 root, the kernel on the FAT.
   */
  readonly abSlots: boolean;
  /** The kernel modules kept (image/lib/modules.ts); absent: the unneededModules list of build.ts is removed instead. */
  readonly modules?: ModuleKeep;
}

// Common to both: init, device manager, firewall, network, DNS stub, partition growth on first boot.
// systemd-timesyncd: a Pi has no RTC, and DKIM, TLS and Date: headers need the right time.
const common = ['systemd', 'systemd-sysv', 'udev', 'dbus', 'kmod', 'nftables', 'iproute2', 'systemd-resolved', 'systemd-timesyncd', 'fdisk',
  // openssl: the firmware makes its first self-signed TLS certificate with the openssl command.
  'openssl',
  'initramfs-tools'];
const rootDisk = ['ext4', 'crc32c_generic', 'virtio_pci', 'virtio_blk', 'virtio_scsi', 'sd_mod', 'mmc_block', 'usb_storage', 'uas', 'nvme', 'xhci_pci'];

export const targets: Record<Arch, Target> = {
  x64: {
    arch: 'x64',
    debianArch: 'amd64',
    // rauc: the A/B slot handling (bundle checks and installs, mark-good); grub-common for
    // grub-editenv, with which rauc writes GRUB's environment block (the rest of it is pruned).
    packages: [...common, 'linux-image-amd64', 'rauc', 'rauc-service', 'grub-common'],
    // squashfs: the root slots are squashfs images.
    initrdModules: [...rootDisk, 'ahci', 'ata_piix', 'ata_generic', 'ehci_pci', 'ohci_pci', 'uhci_hcd', 'sdhci_pci', 'sdhci_acpi', 'squashfs'],
    serialConsole: 'ttyS0',
    crossPrefix: '',
    abSlots: true,
    modules: {
      // Small PC routers' NICs (Intel, Realtek, Broadcom, USB adapters), qemu's virtio; the firewall
      // (nftables); disks, SD and USB sticks (ext4, FAT, exFAT); RAUC's bundle mounts (loop, squashfs);
      // USB serial adapters for the console; watchdogs, GPIO LEDs; CPU crypto and the libraries they need.
      // Libraries (lib/) come in through modules.dep only.
      dirs: ['net/netfilter', 'net/ipv4/netfilter', 'net/ipv6/netfilter', 'net/8021q', 'drivers/net/ethernet/realtek',
        'drivers/net/usb', 'drivers/net/phy', 'drivers/net/mdio', 'drivers/ata', 'drivers/nvme', 'drivers/mmc',
        'drivers/usb/host', 'drivers/usb/storage', 'drivers/usb/serial', 'drivers/usb/common', 'drivers/virtio', 'drivers/char/hw_random',
        'drivers/watchdog', 'drivers/gpio', 'drivers/leds', 'fs/ext4', 'fs/fat', 'fs/exfat', 'fs/nls', 'fs/squashfs', 'arch/x86/crypto', 'crypto'],
      // Gigabit NICs of small boxes by name (Intel's and Broadcom's 10-100 GbE drivers are most of their folders).
      names: [...rootDisk.filter((m) => m !== 'ext4'), 'ahci', 'ata_piix', 'ata_generic', 'ehci_pci', 'ohci_pci', 'uhci_hcd', 'sdhci_pci', 'sdhci_acpi',
        'virtio_net', 'loop', 'squashfs', 'ext4', 'vfat', 'e1000', 'e1000e', 'igb', 'igc', 'tg3', 'b44', 'bnx2'],
    },
  },
  arm64: {
    arch: 'arm64',
    debianArch: 'arm64',
    // raspi-firmware: the Pi's GPU boot files (non-free-firmware); linux-image-arm64 carries the Pi DTBs.
    // U-Boot chooses the slot (image/lib/slots.ts): u-boot-rpi for the Pi, u-boot-qemu for qemu virt;
    // rauc writes its environment file with libubootenv-tool's fw_setenv.
    packages: [...common, 'linux-image-arm64', 'raspi-firmware', 'u-boot-rpi', 'u-boot-qemu', 'rauc', 'rauc-service', 'libubootenv-tool'],
    // Pi 3/Zero 2 W SD (bcm2835 sdhost), Pi 4/CM4 SD and eMMC (sdhci-iproc), USB boot (dwc2, Pi 4 PCIe xHCI), qemu virt.
    initrdModules: [...rootDisk, 'virtio_mmio', 'bcm2835', 'bcm2835_dma', 'sdhci_iproc', 'dwc2', 'pcie_brcmstb', 'reset_raspberrypi', 'squashfs'],
    // Mainline DTBs route GPIO 14/15 to the mini-UART (ttyS1) on Pi 3/4/Zero 2 W; PL011 serves Bluetooth.
    serialConsole: 'ttyS1',
    crossPrefix: 'aarch64-linux-gnu-',
    // The Pi firmware (or qemu's -bios) starts U-Boot, whose boot.scr chooses the slot.
    abSlots: true,
    modules: {
      // The Pi 3 / 4 / Zero 2 W / CM4 and qemu virt: SD and eMMC, USB (dwc2, the Pi 4's PCIe xHCI),
      // Ethernet (Pi 4 GENET, Pi 3's USB LAN chips, USB adapters), the SoC's clocks, firmware
      // mailbox, thermal, watchdog, RNG and GPIO; RTC chips of HATs (I2C); the rest as on x86-64.
      // The SoC's own drivers named here that Debian builds in (mmc_block, bcm2835_dma,
      // pcie_brcmstb, the mini-UART, the firmware clock) need no module.
      dirs: ['net/netfilter', 'net/ipv4/netfilter', 'net/ipv6/netfilter', 'net/8021q', 'drivers/net/usb', 'drivers/net/phy', 'drivers/net/mdio',
        'drivers/mmc', 'drivers/usb/host', 'drivers/usb/dwc2', 'drivers/usb/storage', 'drivers/usb/serial', 'drivers/usb/common', 'drivers/virtio',
        'drivers/char/hw_random', 'drivers/watchdog', 'drivers/gpio', 'drivers/leds', 'drivers/pci/controller', 'drivers/reset', 'drivers/clk/bcm',
        'drivers/firmware', 'drivers/soc/bcm', 'drivers/mailbox', 'drivers/thermal/broadcom', 'drivers/cpufreq', 'drivers/rtc', 'drivers/pinctrl/bcm',
        'fs/ext4', 'fs/fat', 'fs/exfat', 'fs/nls', 'fs/squashfs', 'arch/arm64/crypto', 'crypto'],
      names: [...rootDisk.filter((m) => m !== 'ext4' && m !== 'mmc_block'), 'virtio_mmio', 'bcm2835', 'sdhci_iproc', 'dwc2', 'reset_raspberrypi',
        'virtio_net', 'loop', 'squashfs', 'ext4', 'vfat', 'genet', 'mdio_bcm_unimac', 'broadcom', 'smsc95xx', 'lan78xx', 'i2c_bcm2835',
        'bcm2835_wdt', 'bcm2835_rng', 'iproc_rng200', 'bcm2711_thermal', 'bcm2835_thermal', 'raspberrypi_cpufreq', 'leds_gpio'],
    },
  },
};

export function parseArch(text: string | undefined): Arch {
  if (text === undefined) return process.arch === 'arm64' ? 'arm64' : 'x64';
  if (text === 'x64' || text === 'amd64' || text === 'x86-64') return 'x64';
  if (text === 'arm64' || text === 'aarch64') return 'arm64';
  throw new Error(`--arch: ${JSON.stringify(text)} is not allowed: expected x64 or arm64`);
}

/** Value of `--name VALUE` on a command line, or undefined. */
export function option(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const value = argv[at + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name}: needs a value`);
  return value;
}

export const imageRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const outDir = `${imageRoot}/out`;
export const cacheDir = `${outDir}/cache`;
export const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
