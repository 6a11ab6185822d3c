// A/B root slots (RAUC's "symmetric" layout, as Home Assistant OS does it), on both images:
//   1 FAT yubin-boot: the boot loader's files and its state (which slot, how many tries)
//   2 root slot A · 3 root slot B: read-only squashfs, each with its own kernel and initrd (arm64: on the FAT)
//   4 ext4 yubin-data: never touched by an upgrade
// x86-64: GRUB (core.img in the gap before the first partition, no grub-install: nothing is
// mounted) picks the first slot of ORDER that is good and has tries left, counts the try in
// grubenv and boots it with rauc.slot=A|B. arm64: the Pi firmware (or qemu's -bios) starts U-Boot,
// whose boot.scr does the same with RAUC's U-Boot variables (BOOT_ORDER, BOOT_A_LEFT/BOOT_B_LEFT:
// tries left) in uboot.env on the FAT. After each boot yubin-health marks the slot good once the
// firmware is ready and answers SMTP and POP3 (rauc status mark-good: GRUB's try count back to 0,
// U-Boot's tries left back to MAX_TRIES); a slot that never gets there is tried MAX_TRIES times,
// then the loader boots the other one.
import { writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { run } from './run.ts';
import type { Target } from './targets.ts';

/** The MBR disk identifier: partitions are found as PARTUUID=59554249-0N ("YUBI"), whatever the disk is called. */
export const DISK_ID = '59554249';
export const SLOT_MIB = 192;
export const BOOT_MIB_X64 = 16;
/** Boots of a slot that never reaches health before GRUB falls back to the other. */
export const MAX_TRIES = 3;

export const slots = [
  { name: 'A', partition: 2 },
  { name: 'B', partition: 3 },
] as const;

export const partuuid = (partition: number) => `${DISK_ID}-${String(partition).padStart(2, '0')}`;

export const compatible = (target: Target) => `yubin-${target.arch}`;

/** GRUB's modules built into core.img: everything grub.cfg uses, so the FAT needs no module folder. */
const grubModules = ['biosdisk', 'part_msdos', 'fat', 'squash4', 'xzio', 'gzio', 'normal', 'linux', 'loadenv', 'test', 'echo', 'serial',
  'terminal', 'sleep', 'configfile'];

/** The kernel command line common to both slots; the boot test rewrites this line (yubin.report, no quiet). */
export const kernelArgsLine = (target: Target) => `set yubin_args="console=tty0 console=${target.serialConsole},115200 systemd.volatile=state quiet"`;

export function grubCfg(target: Target): string {
  const choose = slots.map((s, i) => `  if [ -z "$chosen" -a "$SLOT" = ${s.name} -a "$${s.name}_OK" = 1 ]; then
    if [ "$${s.name}_TRY" = 0 ]; then chosen=${s.name}; ${s.name}_TRY=1; index=${i}
    elif [ "$${s.name}_TRY" = 1 -a "$MAX_TRIES" != 1 ]; then chosen=${s.name}; ${s.name}_TRY=2; index=${i}
    elif [ "$${s.name}_TRY" = 2 -a "$MAX_TRIES" != 1 -a "$MAX_TRIES" != 2 ]; then chosen=${s.name}; ${s.name}_TRY=3; index=${i}
    fi
  fi`).join('\n');
  const entries = slots.map((s) => `menuentry "Yubin slot ${s.name}" {
  linux (hd0,msdos${s.partition})/boot/vmlinuz root=PARTUUID=${partuuid(s.partition)} rootfstype=squashfs ro rootwait rauc.slot=${s.name} $yubin_args
  initrd (hd0,msdos${s.partition})/boot/initrd.img
}`).join('\n');
  return `# Yubin A/B boot (image/lib/slots.ts). grubenv holds ORDER, A_OK/B_OK (rauc marks them) and
# A_TRY/B_TRY (boots since the slot was last marked good, counted here, reset by mark-good).
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set ORDER="A B"
set MAX_TRIES=${MAX_TRIES}
set A_OK=0
set A_TRY=0
set B_OK=0
set B_TRY=0
load_env
${kernelArgsLine(target)}
set chosen=""
set index=0
for SLOT in $ORDER; do
${choose}
done
if [ -z "$chosen" ]; then
  # No slot is good with tries left: boot A rather than nothing (the owner sees why on the console).
  echo "yubin: no slot is marked good with tries left: booting slot A"
  chosen=A
  index=0
fi
save_env A_TRY B_TRY
echo "yubin: booting slot $chosen (A ok=$A_OK try=$A_TRY, B ok=$B_OK try=$B_TRY, order $ORDER)"
set default=$index
${entries}
`;
}

/** The first grubenv: slot A good (it is the one flashed), slot B empty. */
export async function makeGrubenv(file: string): Promise<void> {
  await run('grub-editenv', [file, 'create']);
  await run('grub-editenv', [file, 'set', 'ORDER=A B', 'A_OK=1', 'A_TRY=0', 'B_OK=0', 'B_TRY=0', `MAX_TRIES=${MAX_TRIES}`]);
}

/** GRUB for BIOS boot: boot.img's 440 bytes in the MBR, core.img in the sectors after it. */
export async function grubBios(work: string): Promise<{ bootImg: string; coreImg: string }> {
  const coreImg = `${work}/core.img`;
  await run('grub-mkimage', ['-O', 'i386-pc', '-o', coreImg, '-p', '(hd0,msdos1)/grub', ...grubModules]);
  return { bootImg: '/usr/lib/grub/i386-pc/boot.img', coreImg };
}

// --- arm64: U-Boot ---------------------------------------------------------------------------------
// Why U-Boot's own scripting and RAUC's "uboot" backend: bookworm's RAUC (1.8) has no "custom"
// backend, and neither Debian U-Boot can keep its environment where Linux writes it (qemu_arm64's
// is in its flash, which a reboot of qemu -bios starts blank). So the environment is a file on the
// FAT, uboot.env: boot.scr reads it (load, env import -c), counts the try and writes it back
// (env export -c, fatwrite); RAUC writes it from Linux with libubootenv's fw_setenv
// (/etc/fw_env.config names the file). The same works on the Pi (mmc) and on qemu virt (virtio).
// qemu_arm64's U-Boot 2023.01 has no sqfsload, so each slot's kernel and initrd live on the FAT
// as kernel-A/initrd-A, kernel-B/initrd-B (not in the slot's squashfs): put there by the build for
// slot A, and for the slot an upgrade writes by RAUC's post-install handler
// (/usr/lib/yubin/rauc-post-install), from the pair the bundle carries beside its root image.

/** The U-Boot environment file on the FAT, and its size (fw_env.config and boot.scr must agree). */
export const UBOOT_ENV = 'uboot.env';
export const UBOOT_ENV_SIZE = 0x4000;
/** The FAT file with the kernel command line's common part (`yubin_args=…`; the boot test rewrites it). */
export const UBOOT_ARGS = 'yubin-args.txt';
/** qemu virt's UART (PL011): U-Boot's board name there is qemu-arm. */
const qemuConsole = 'ttyAMA0';

export const ubootArgsText = () => 'yubin_args=systemd.volatile=state quiet\n';

/** U-Boot's boot script source (mkimage makes boot.scr of it): the choice grub.cfg makes, in U-Boot's hush. */
export function ubootScript(target: Target): string {
  const vars = ['BOOT_ORDER', ...slots.map((s) => `BOOT_${s.name}_LEFT`)].join(' ');
  const choose = slots.map((s) => `    if test "\${SLOT}" = ${s.name} && test \${BOOT_${s.name}_LEFT} -gt 0; then
      setexpr BOOT_${s.name}_LEFT \${BOOT_${s.name}_LEFT} - 1
      setenv chosen ${s.name}
      setenv rootpart ${partuuid(s.partition)}
    fi`).join('\n');
  return `# Yubin A/B boot (image/lib/slots.ts). uboot.env holds RAUC's BOOT_ORDER and BOOT_A_LEFT/BOOT_B_LEFT
# (boots left: rauc mark-good sets ${MAX_TRIES}, mark-bad 0); a boot counts one down here.
setenv BOOT_ORDER "A B"
setenv BOOT_A_LEFT ${MAX_TRIES}
setenv BOOT_B_LEFT 0
if load \${devtype} \${devnum}:1 \${kernel_addr_r} ${UBOOT_ENV}; then env import -c \${kernel_addr_r} 0x${UBOOT_ENV_SIZE.toString(16)} ${vars}; fi
setenv yubin_args
if load \${devtype} \${devnum}:1 \${kernel_addr_r} ${UBOOT_ARGS}; then env import -t \${kernel_addr_r} \${filesize} yubin_args; fi
setenv chosen
for SLOT in \${BOOT_ORDER}; do
  if test -z "\${chosen}"; then
${choose}
  fi
done
if test -z "\${chosen}"; then
  # No slot has tries left: boot A rather than nothing (the owner sees why on the console).
  echo "yubin: no slot is marked good with tries left: booting slot A"
  setenv chosen A
  setenv rootpart ${partuuid(slots[0].partition)}
fi
env export -c -s 0x${UBOOT_ENV_SIZE.toString(16)} \${kernel_addr_r} ${vars}
fatwrite \${devtype} \${devnum}:1 \${kernel_addr_r} ${UBOOT_ENV} 0x${UBOOT_ENV_SIZE.toString(16)}
echo "yubin: booting slot \${chosen} (A left=\${BOOT_A_LEFT}, B left=\${BOOT_B_LEFT}, order \${BOOT_ORDER})"
if test "\${board}" = qemu-arm; then setenv console ${qemuConsole}; else setenv console ${target.serialConsole}; fi
setenv bootargs "root=PARTUUID=\${rootpart} rootfstype=squashfs ro rootwait rauc.slot=\${chosen} console=tty0 console=\${console},115200 \${yubin_args}"
# Above the kernel (64 MiB for it unpacked; the Pi's default ramdisk_addr_r is closer): the initrd,
# then the buffer booti unpacks a gzip kernel through.
setexpr ramdisk_addr_r \${kernel_addr_r} + 0x4000000
setexpr kernel_comp_addr_r \${kernel_addr_r} + 0x8000000
setenv kernel_comp_size 0x3000000
if load \${devtype} \${devnum}:1 \${kernel_addr_r} kernel-\${chosen} && load \${devtype} \${devnum}:1 \${ramdisk_addr_r} initrd-\${chosen}; then
  booti \${kernel_addr_r} \${ramdisk_addr_r}:\${filesize} \${fdtcontroladdr}
fi
# Not loadable or not bootable: no tries left for this slot, and start again (the other one).
echo "yubin: slot \${chosen} does not boot: trying the other slot"
setenv BOOT_\${chosen}_LEFT 0
env export -c -s 0x${UBOOT_ENV_SIZE.toString(16)} \${kernel_addr_r} ${vars}
fatwrite \${devtype} \${devnum}:1 \${kernel_addr_r} ${UBOOT_ENV} 0x${UBOOT_ENV_SIZE.toString(16)}
reset
`;
}

/** `mkimage`: boot.scr of ubootScript, the file U-Boot's distro boot looks for on a bootable partition. */
export async function makeBootScr(target: Target, work: string): Promise<string> {
  const source = `${work}/boot.cmd`;
  await writeFile(source, ubootScript(target));
  await run('mkimage', ['-A', 'arm64', '-O', 'linux', '-T', 'script', '-C', 'none', '-n', 'yubin A/B', '-d', source, `${work}/boot.scr`]);
  return `${work}/boot.scr`;
}

/** A U-Boot environment as `env export -c` writes it: CRC-32 (little-endian) of the rest, then KEY=VALUE\0…\0, zero-padded. */
export function ubootEnv(vars: Record<string, string>, size = UBOOT_ENV_SIZE): Buffer {
  const out = Buffer.alloc(size);
  const text = Buffer.from(Object.entries(vars).map(([k, v]) => `${k}=${v}\0`).join(''), 'latin1');
  if (text.length + 5 > size) throw new Error('U-Boot environment too large');
  text.copy(out, 4);
  out.writeUInt32LE(crc32(out.subarray(4)), 0);
  return out;
}

/** The first uboot.env: slot A good with all its tries (it is the one flashed), slot B empty. */
export async function makeUbootEnv(file: string): Promise<void> {
  await writeFile(file, ubootEnv({ BOOT_ORDER: 'A B', BOOT_A_LEFT: String(MAX_TRIES), BOOT_B_LEFT: '0' }));
}

/** libubootenv's fw_env.config: the environment file on the FAT, no redundant copy. */
export const fwEnvConfig = () => `# U-Boot's environment for fw_printenv/fw_setenv (RAUC's uboot backend): a file on the FAT (image/lib/slots.ts).
/boot/firmware/${UBOOT_ENV} 0x0 0x${UBOOT_ENV_SIZE.toString(16)}
`;

/** RAUC's view of the board: the two slots, the boot chooser (GRUB or U-Boot), the keyring bundles must chain to. */
export function raucSystemConf(target: Target): string {
  const loader = target.arch === 'x64'
    ? 'bootloader=grub\ngrubenv=/boot/firmware/grub/grubenv'
    // RAUC's uboot backend gives a slot 3 boots (its default, = MAX_TRIES) when marked good or active.
    : 'bootloader=uboot';
  const handlers = target.arch === 'x64' ? '' : `
[handlers]
# The new slot's kernel and initrd onto the FAT, where U-Boot loads them (see image/lib/slots.ts).
post-install=/usr/lib/yubin/rauc-post-install
`;
  return `# RAUC (image/lib/slots.ts): bundles for ${compatible(target)} signed by a key in keyring.pem.
[system]
compatible=${compatible(target)}
${loader}
# Slot status and bundle state on the data partition: the root is read-only.
data-directory=/data/rauc
bundle-formats=plain

[keyring]
path=/etc/rauc/keyring.pem
# Signing certificates carry extendedKeyUsage=codeSigning (image/lib/rauc.ts): RAUC's default
# purpose, S/MIME signing, would refuse them ("unsuitable certificate purpose").
check-purpose=codesign
${handlers}
${slots.map((s, i) => `[slot.rootfs.${i}]
device=/dev/disk/by-partuuid/${partuuid(s.partition)}
type=raw
bootname=${s.name}
`).join('\n')}`;
}

export async function writeRaucConfig(root: string, target: Target, keyring: string): Promise<void> {
  const { mkdir, copyFile } = await import('node:fs/promises');
  await mkdir(`${root}/etc/rauc`, { recursive: true });
  await writeFile(`${root}/etc/rauc/system.conf`, raucSystemConf(target));
  if (target.arch === 'arm64') await writeFile(`${root}/etc/fw_env.config`, fwEnvConfig());
  await copyFile(keyring, `${root}/etc/rauc/keyring.pem`);
}
