//! Telegraf's field filters: `fieldinclude` keeps only matching fields, `fieldexclude` drops
//! matching ones; both take glob patterns (`*`, `?`, `[abc]`).

use model::Metric;

#[derive(Debug, Clone, Default)]
pub struct FieldFilter {
    include: Vec<glob::Pattern>,
    exclude: Vec<glob::Pattern>,
}

impl FieldFilter {
    /// Compiles the patterns; an error carries the pattern that failed.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, (String, glob::PatternError)> {
        let compile = |patterns: &[String]| {
            patterns
                .iter()
                .map(|p| glob::Pattern::new(p).map_err(|e| (p.clone(), e)))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(FieldFilter {
            include: compile(include)?,
            exclude: compile(exclude)?,
        })
    }

    pub fn accepts(&self, field: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(field)))
            && !self.exclude.iter().any(|p| p.matches(field))
    }

    /// Removes the fields the filter rejects; false when none is left (Telegraf then drops the
    /// metric).
    pub fn apply(&self, metric: &mut Metric) -> bool {
        if !self.include.is_empty() || !self.exclude.is_empty() {
            metric.fields.retain(|k, _| self.accepts(k));
        }
        !metric.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str]) -> FieldFilter {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        FieldFilter::new(&s(include), &s(exclude)).unwrap()
    }

    #[test]
    fn exclude_drops_matching_fields() {
        let f = filter(&[], &["time_*"]);
        assert!(!f.accepts("time_user"));
        assert!(f.accepts("usage_user"));
    }

    #[test]
    fn include_keeps_only_matching_fields_and_exclude_still_wins() {
        let f = filter(&["usage_*", "total"], &["usage_guest*"]);
        assert!(f.accepts("usage_idle") && f.accepts("total"));
        assert!(!f.accepts("usage_guest_nice") && !f.accepts("time_idle"));
    }

    #[test]
    fn a_metric_left_without_fields_is_dropped() {
        let mut m = Metric::new("cpu", 0).field("time_user", 1.0);
        assert!(!filter(&[], &["time_*"]).apply(&mut m));
    }

    #[test]
    fn bad_patterns_are_reported_with_the_pattern() {
        let err = FieldFilter::new(&["usage_[".into()], &[]).unwrap_err();
        assert_eq!(err.0, "usage_[");
    }
}
