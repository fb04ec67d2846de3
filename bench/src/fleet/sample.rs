//! What one simulated host sends: Telegraf's cpu and mem lines, stamped with the wall clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// What one 2-CPU host's agent sends per interval: cpu-total, cpu0, cpu1 and mem, with the
/// fields Telegraf's cpu and mem inputs report.
pub fn host_sample(host: &str, ts: i64) -> Vec<String> {
    let mut out: Vec<String> = ["cpu-total", "cpu0", "cpu1"]
        .iter()
        .map(|cpu| {
            format!(
                "cpu,cpu={cpu},host={host} usage_guest=0,usage_guest_nice=0,usage_idle=93.41317365269461,\
                 usage_iowait=0.09980039920159681,usage_irq=0,usage_nice=0,usage_softirq=0.09980039920159681,\
                 usage_steal=0.2994011976047904,usage_system=2.095808383233533,usage_user=4.091816367265469 {ts}"
            )
        })
        .collect();
    out.push(format!(
        "mem,host={host} active=4129034240i,available=24324071424i,available_percent=96.23192135242407,\
         buffered=54632448i,cached=17737834496i,commit_limit=12638253056i,committed_as=443817984i,dirty=559710208i,\
         free=6951591936i,huge_page_size=2097152i,huge_pages_free=0i,huge_pages_total=0i,inactive=13159677952i,\
         mapped=255414272i,page_tables=4378624i,shared=9068544i,slab=895217664i,sreclaimable=814211072i,\
         sunreclaim=81006592i,swap_cached=0i,swap_free=0i,swap_total=0i,total=25276510208i,used=532451328i,\
         used_percent=2.106506490090865,vmalloc_chunk=0i,vmalloc_total=35184372087808i,vmalloc_used=15446016i,\
         write_back=0i,write_back_tmp=0i {ts}"
    ));
    out
}

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
