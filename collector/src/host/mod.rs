//! Cheap samples of the host the collector runs on, and of the collector itself.
//!
//! On Linux everything comes straight from `/proc` (and one `statvfs` per disk): sysinfo's
//! full refresh costs 560–730 µs a sample here, most of it its network refresh, which opens
//! several sysfs files per interface where one read of `/proc/net/dev` does
//! (`../shared/TOOLCHAIN.md`). psutil costs 450–570 µs; a [`Sampler`] sample had to cost a
//! fifth of that at most and costs about a tenth, warm or cold (`scripts/bench-sample.sh`
//! measures all three).
//!
//! - [`procfs`]: pure parsers of the kernel's files plus the readers of the real ones.
//! - [`sample`]: [`Sampler`] turns successive readings into a [`HostSample`] with shares and
//!   rates.
//! - [`top`]: [`TopSampler`] reads every process for the busiest ones, at a slower cadence.
//!
//! Off Linux there is no `/proc`: the samples hold zeros, `None`s and empty lists.

pub mod procfs;
pub mod sample;
pub mod top;

pub use sample::{
    CpuSample, DiskSample, HostSample, MemorySample, NetworkSample, ProcessSample, Sampler,
    MIN_CPU_INTERVAL,
};
pub use top::{ProcessEntry, TopProcesses, TopSampler};
