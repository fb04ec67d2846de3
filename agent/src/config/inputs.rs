//! `[[inputs.cpu]]` and `[[inputs.mem]]`, with Telegraf's field filters.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;
use crate::filter::FieldFilter;

/// Compiles Telegraf's `fieldinclude` / `fieldexclude` (older names: `fieldpass` /
/// `fielddrop`), glob patterns matched against field names. (The two lists sit in each input's
/// struct rather than a flattened one because serde cannot deny unknown keys through `flatten`.)
pub(crate) fn compile_filter(table: &str, include: &[String], exclude: &[String]) -> Result<FieldFilter, ConfigError> {
    FieldFilter::new(include, exclude).map_err(|(pattern, e)| {
        ConfigError::invalid(
            format!("{table}.fieldinclude/fieldexclude"),
            "glob patterns such as \"usage_*\"",
            format!("{pattern:?} ({e})"),
        )
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuConfig {
    /// One metric per CPU (`cpu=cpu0`, …).
    #[serde(default = "default_true")]
    pub percpu: bool,
    /// One metric for all CPUs (`cpu=cpu-total`).
    #[serde(default = "default_true")]
    pub totalcpu: bool,
    /// Also the cumulative `time_*` fields, in seconds.
    #[serde(default)]
    pub collect_cpu_time: bool,
    /// Also `usage_active` (and `time_active`).
    #[serde(default)]
    pub report_active: bool,
    #[serde(default, alias = "fieldpass")]
    pub fieldinclude: Vec<String>,
    #[serde(default, alias = "fielddrop")]
    pub fieldexclude: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn default_true() -> bool {
    true
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig {
            percpu: true,
            totalcpu: true,
            collect_cpu_time: false,
            report_active: false,
            fieldinclude: Vec::new(),
            fieldexclude: Vec::new(),
            tags: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemConfig {
    #[serde(default, alias = "fieldpass")]
    pub fieldinclude: Vec<String>,
    #[serde(default, alias = "fielddrop")]
    pub fieldexclude: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl CpuConfig {
    pub fn field_filter(&self) -> Result<FieldFilter, ConfigError> {
        compile_filter("inputs.cpu", &self.fieldinclude, &self.fieldexclude)
    }
}

impl MemConfig {
    pub fn field_filter(&self) -> Result<FieldFilter, ConfigError> {
        compile_filter("inputs.mem", &self.fieldinclude, &self.fieldexclude)
    }
}
