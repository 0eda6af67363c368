//! Board support: the UART0 driver and the processor clock of each QEMU board.
//!
//! One board is compiled in, chosen by a cargo feature (`build.rs` checks that exactly one
//! is set and that it matches the target). Each driver polls its UART: no interrupts, no
//! DMA, so the whole firmware is one loop and nothing can be lost between two reads (QEMU
//! holds the host's bytes back until the guest has taken the previous ones).

use core::ptr::{read_volatile, write_volatile};

/// A memory-mapped 32-bit register.
#[derive(Clone, Copy)]
struct Reg(usize);

impl Reg {
    fn read(self) -> u32 {
        // SAFETY: every `Reg` is a documented, aligned UART register of the selected board.
        unsafe { read_volatile(self.0 as *const u32) }
    }

    fn write(self, value: u32) {
        // SAFETY: as in `read`.
        unsafe { write_volatile(self.0 as *mut u32, value) }
    }
}

/// The UART0 of the selected board. The main loop owns one value of this type; the panic and
/// fault handlers make their own with [`Uart::init`] (they never return to the main loop).
pub struct Uart {
    _private: (),
}

#[cfg(feature = "lm3s6965evb")]
mod imp {
    //! TI Stellaris LM3S6965: ARM PL011 UART0 at 0x4000_C000, system clock 12.5 MHz
    //! (QEMU's reset value of the RCC register).
    use super::Reg;

    const BASE: usize = 0x4000_C000;
    const DR: Reg = Reg(BASE);
    const FR: Reg = Reg(BASE + 0x18);
    const CR: Reg = Reg(BASE + 0x30);
    const FR_RXFE: u32 = 1 << 4;
    const FR_TXFF: u32 = 1 << 5;

    pub fn init() {
        // UARTEN | TXE | RXE. LCRH keeps its reset value: writing it resets QEMU's receive
        // FIFO, which loses a byte that has already arrived.
        CR.write(0x301);
    }

    pub fn write(byte: u8) {
        while FR.read() & FR_TXFF != 0 {}
        DR.write(u32::from(byte));
    }

    pub fn read() -> u8 {
        while FR.read() & FR_RXFE != 0 {}
        (DR.read() & 0xFF) as u8
    }
}

#[cfg(feature = "mps2-an386")]
mod imp {
    //! ARM MPS2 with the AN386 image (Cortex-M4F): CMSDK APB UART0 at 0x4000_4000, system
    //! clock 25 MHz.
    use super::Reg;

    const BASE: usize = 0x4000_4000;
    const DATA: Reg = Reg(BASE);
    const STATE: Reg = Reg(BASE + 0x4);
    const CTRL: Reg = Reg(BASE + 0x8);
    const BAUDDIV: Reg = Reg(BASE + 0x10);
    const STATE_TXFULL: u32 = 1 << 0;
    const STATE_RXFULL: u32 = 1 << 1;

    pub fn init() {
        // The smallest valid divider (QEMU ignores the rate but rejects a divider < 16).
        BAUDDIV.write(16);
        // TX enable | RX enable, no interrupts.
        CTRL.write(0b11);
    }

    pub fn write(byte: u8) {
        while STATE.read() & STATE_TXFULL != 0 {}
        DATA.write(u32::from(byte));
    }

    pub fn read() -> u8 {
        while STATE.read() & STATE_RXFULL == 0 {}
        (DATA.read() & 0xFF) as u8
    }
}

#[cfg(feature = "microbit")]
mod imp {
    //! BBC micro:bit (nRF51822, Cortex-M0): UART at 0x4000_2000, HCLK 16 MHz.
    use super::Reg;

    const BASE: usize = 0x4000_2000;
    const TASKS_STARTRX: Reg = Reg(BASE);
    const TASKS_STARTTX: Reg = Reg(BASE + 0x008);
    const EVENTS_RXDRDY: Reg = Reg(BASE + 0x108);
    const EVENTS_TXDRDY: Reg = Reg(BASE + 0x11C);
    const ENABLE: Reg = Reg(BASE + 0x500);
    const PSELTXD: Reg = Reg(BASE + 0x50C);
    const PSELRXD: Reg = Reg(BASE + 0x514);
    const RXD: Reg = Reg(BASE + 0x518);
    const TXD: Reg = Reg(BASE + 0x51C);
    const BAUDRATE: Reg = Reg(BASE + 0x524);

    pub fn init() {
        // The micro:bit's USB-serial pins (P0.24 TX, P0.25 RX) at 115200 baud, as on the
        // real board; QEMU ignores them.
        PSELTXD.write(24);
        PSELRXD.write(25);
        BAUDRATE.write(0x01D7_E000);
        ENABLE.write(4);
        EVENTS_TXDRDY.write(0);
        EVENTS_RXDRDY.write(0);
        TASKS_STARTTX.write(1);
        TASKS_STARTRX.write(1);
    }

    pub fn write(byte: u8) {
        TXD.write(u32::from(byte));
        // A byte written while the previous one is pending is dropped: wait for TXDRDY.
        while EVENTS_TXDRDY.read() == 0 {}
        EVENTS_TXDRDY.write(0);
    }

    pub fn read() -> u8 {
        while EVENTS_RXDRDY.read() == 0 {}
        // Clear the event before reading RXD: the read sets it again if more bytes wait.
        EVENTS_RXDRDY.write(0);
        (RXD.read() & 0xFF) as u8
    }
}

// The board's name, core and clock: from the board table (boards.txt), by build.rs.
include!(concat!(env!("OUT_DIR"), "/board.rs"));

impl Uart {
    /// Enables UART0 (enabling it again is harmless).
    pub fn init() -> Self {
        imp::init();
        Uart { _private: () }
    }

    /// Sends one byte, waiting while the transmitter is full.
    pub fn write_byte(&mut self, byte: u8) {
        imp::write(byte);
    }

    /// Waits for one received byte.
    pub fn read_byte(&mut self) -> u8 {
        imp::read()
    }
}

impl rnn_core::Text for Uart {
    fn str(&mut self, s: &str) {
        for &b in s.as_bytes() {
            self.write_byte(b);
        }
    }
}
