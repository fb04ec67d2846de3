//! Inputs, one per file, each turning a read of `/proc` into Telegraf-shaped metrics.
//!
//! Reads of `/proc` are answered from kernel memory and never wait on a disk, so inputs are
//! gathered inline on the scheduler's task.

mod cpu;
mod mem;

pub use cpu::{Cpu, Times, Usage};
pub use mem::Mem;

use model::Metric;

use crate::config::{Config, ConfigError};

/// Reading `/proc` failed.
#[derive(Debug, thiserror::Error)]
#[error("input {input}: {source}")]
pub struct InputError {
    pub input: &'static str,
    pub source: procfs::ProcError,
}

/// One configured `[[inputs.*]]` table.
pub enum Input {
    Cpu(Cpu),
    Mem(Mem),
}

impl Input {
    /// Every input of the config, in file order (cpu tables first, then mem).
    pub fn all(config: &Config) -> Result<Vec<Input>, ConfigError> {
        let mut inputs = Vec::new();
        for c in &config.inputs.cpu {
            inputs.push(Input::Cpu(Cpu::new(c.clone())?));
        }
        for m in &config.inputs.mem {
            inputs.push(Input::Mem(Mem::new(m.clone())?));
        }
        Ok(inputs)
    }

    /// Telegraf's plugin name, used as the `input` label of self-metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Input::Cpu(_) => "cpu",
            Input::Mem(_) => "mem",
        }
    }

    /// Reads once; `timestamp` (ns since the epoch) stamps every metric.
    pub fn gather(&mut self, timestamp: i64) -> Result<Vec<Metric>, InputError> {
        match self {
            Input::Cpu(c) => c.gather(timestamp),
            Input::Mem(m) => m.gather(timestamp),
        }
    }

    /// Takes the first reading that later CPU percentages are differences from.
    pub fn prime(&mut self) -> Result<(), InputError> {
        match self {
            Input::Cpu(c) => c.gather(0).map(|_| ()),
            Input::Mem(_) => Ok(()),
        }
    }
}
