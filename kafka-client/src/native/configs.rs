//! Configs of a topic or a broker as `kafka-configs.sh` reads and changes them: librdkafka's
//! `rd_kafka_DescribeConfigs`, whose entries rdkafka 0.39 hands over without their synonyms,
//! and `rd_kafka_IncrementalAlterConfigs` (KIP-339), which rdkafka 0.39 does not wrap (its
//! `alter_configs` replaces every override at once).

use std::ffi::CString;
use std::os::raw::c_char;
use std::time::{Duration, Instant};

use rdkafka::client::{Client, ClientContext};
use rdkafka_sys as sys;

use super::{admin_options, cstr, next_event};
use sys::rd_kafka_AlterConfigOpType_t as Op;
use sys::rd_kafka_ResourceType_t as Type;

#[derive(Debug, thiserror::Error)]
pub enum ConfigsError {
    #[error("'{0}' contains a NUL byte")]
    Nul(String),
    #[error("{0}")]
    Kafka(String),
    #[error("a broker is named by its id, not '{0}'")]
    BrokerId(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// What a config resource is: Kafka's resource types that hold configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Topic,
    Broker,
    /// A consumer group's configs (Kafka 4, KIP-848); librdkafka sends Kafka's config type 32.
    Group,
}

impl Resource {
    fn native(self) -> Type {
        match self {
            Resource::Topic => Type::RD_KAFKA_RESOURCE_TOPIC,
            Resource::Broker => Type::RD_KAFKA_RESOURCE_BROKER,
            Resource::Group => Type::RD_KAFKA_RESOURCE_GROUP,
        }
    }
}

/// One config as DescribeConfigs gives it; `source` and each synonym's are Kafka's names
/// (`DYNAMIC_TOPIC_CONFIG`, `STATIC_BROKER_CONFIG`, `DEFAULT_CONFIG`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub source: String,
    pub sensitive: bool,
    pub read_only: bool,
    /// (name, value, source), the entry's own value first when it was set anywhere.
    pub synonyms: Vec<(String, Option<String>, String)>,
}

/// One change of IncrementalAlterConfigs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Set(String, String),
    Delete(String),
}

fn cstring(s: &str) -> Result<CString, ConfigsError> {
    CString::new(s).map_err(|_| ConfigsError::Nul(s.to_string()))
}

/// The resource's name for librdkafka. librdkafka sends a broker resource to that broker, so
/// its name must be a broker id (an empty one, Kafka's cluster-wide default, crashes it).
fn resource_name(resource: Resource, name: &str) -> Result<CString, ConfigsError> {
    if resource == Resource::Broker && name.parse::<i32>().is_err() {
        return Err(ConfigsError::BrokerId(name.to_string()));
    }
    cstring(name)
}

/// Every config of one resource, with synonyms.
pub fn describe_configs<C: ClientContext>(
    client: &Client<C>,
    resource: Resource,
    name: &str,
    timeout: Duration,
) -> Result<Vec<ConfigEntry>, ConfigsError> {
    let name = resource_name(resource, name)?;
    let rk = client.native_ptr();
    // SAFETY: `rk` lives as long as `client`, which outlives this call. The resource, options and
    // queue are created and destroyed here; librdkafka copies the resource's name. The one
    // result event is destroyed after reading, and every string read from it is copied first.
    unsafe {
        let mut resources = [sys::rd_kafka_ConfigResource_new(resource.native(), name.as_ptr())];
        let options = admin_options(rk, sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
        let queue = sys::rd_kafka_queue_new(rk);
        sys::rd_kafka_DescribeConfigs(rk, resources.as_mut_ptr(), 1, options, queue);
        let result = wait(queue, timeout, |event| {
            let result = sys::rd_kafka_event_DescribeConfigs_result(event);
            let mut n = 0usize;
            let described = sys::rd_kafka_DescribeConfigs_result_resources(result, &mut n);
            first_resource(described, n).map(|r| entries(r))
        });
        sys::rd_kafka_queue_destroy(queue);
        sys::rd_kafka_AdminOptions_destroy(options);
        sys::rd_kafka_ConfigResource_destroy(resources[0]);
        result
    }
}

/// Applies `changes` to one resource's configs, the others left as they are.
pub fn incremental_alter_configs<C: ClientContext>(
    client: &Client<C>,
    resource: Resource,
    name: &str,
    changes: &[Change],
    timeout: Duration,
) -> Result<(), ConfigsError> {
    let name = resource_name(resource, name)?;
    let changes = changes
        .iter()
        .map(|c| match c {
            Change::Set(k, v) => Ok((cstring(k)?, Some(cstring(v)?), Op::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET)),
            Change::Delete(k) => Ok((cstring(k)?, None, Op::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE)),
        })
        .collect::<Result<Vec<_>, ConfigsError>>()?;
    let rk = client.native_ptr();
    // SAFETY: as in `describe_configs`; librdkafka copies each name and value into the resource.
    unsafe {
        let mut resources = [sys::rd_kafka_ConfigResource_new(resource.native(), name.as_ptr())];
        let mut refused = None;
        for (key, value, op) in &changes {
            let value = value.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
            let error = sys::rd_kafka_ConfigResource_add_incremental_config(resources[0], key.as_ptr(), *op, value);
            if !error.is_null() {
                refused.get_or_insert(cstr(sys::rd_kafka_error_string(error)));
                sys::rd_kafka_error_destroy(error);
            }
        }
        let result = match refused {
            Some(message) => Err(ConfigsError::Kafka(message)),
            None => {
                let options = admin_options(
                    rk,
                    sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
                    timeout,
                );
                let queue = sys::rd_kafka_queue_new(rk);
                sys::rd_kafka_IncrementalAlterConfigs(rk, resources.as_mut_ptr(), 1, options, queue);
                let result = wait(queue, timeout, |event| {
                    let result = sys::rd_kafka_event_IncrementalAlterConfigs_result(event);
                    let mut n = 0usize;
                    let altered = sys::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut n);
                    first_resource(altered, n).map(|_| ())
                });
                sys::rd_kafka_queue_destroy(queue);
                sys::rd_kafka_AdminOptions_destroy(options);
                result
            }
        };
        sys::rd_kafka_ConfigResource_destroy(resources[0]);
        result
    }
}

/// Waits for the one result event on `queue` and reads it with `read` (after checking the
/// request as a whole succeeded); destroys the event.
unsafe fn wait<T>(
    queue: *mut sys::rd_kafka_queue_t,
    timeout: Duration,
    read: impl FnOnce(*mut sys::rd_kafka_event_t) -> Result<T, ConfigsError>,
) -> Result<T, ConfigsError> {
    let event =
        next_event(queue, Instant::now() + timeout + Duration::from_secs(1)).ok_or(ConfigsError::Timeout(timeout))?;
    let result = if sys::rd_kafka_event_error(event) != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        Err(ConfigsError::Kafka(cstr(sys::rd_kafka_event_error_string(event))))
    } else {
        read(event)
    };
    sys::rd_kafka_event_destroy(event);
    result
}

/// The one resource of a result, or its error.
unsafe fn first_resource(
    resources: *mut *const sys::rd_kafka_ConfigResource_t,
    n: usize,
) -> Result<*const sys::rd_kafka_ConfigResource_t, ConfigsError> {
    if resources.is_null() || n == 0 {
        return Err(ConfigsError::Kafka("the answer holds no resource".into()));
    }
    let resource = *resources;
    if sys::rd_kafka_ConfigResource_error(resource) != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        let code = sys::rd_kafka_ConfigResource_error(resource);
        let message = cstr(sys::rd_kafka_ConfigResource_error_string(resource));
        let name = cstr(sys::rd_kafka_err2name(code));
        return Err(ConfigsError::Kafka(if message.is_empty() {
            name
        } else {
            format!("{name}: {message}")
        }));
    }
    Ok(resource)
}

unsafe fn entries(resource: *const sys::rd_kafka_ConfigResource_t) -> Vec<ConfigEntry> {
    let mut n = 0usize;
    let configs = sys::rd_kafka_ConfigResource_configs(resource, &mut n);
    (0..n).map(|i| entry(*configs.add(i))).collect()
}

unsafe fn entry(e: *const sys::rd_kafka_ConfigEntry_t) -> ConfigEntry {
    let mut n = 0usize;
    let synonyms = sys::rd_kafka_ConfigEntry_synonyms(e, &mut n);
    ConfigEntry {
        name: cstr(sys::rd_kafka_ConfigEntry_name(e)),
        value: opt(sys::rd_kafka_ConfigEntry_value(e)),
        source: source(e),
        sensitive: sys::rd_kafka_ConfigEntry_is_sensitive(e) != 0,
        read_only: sys::rd_kafka_ConfigEntry_is_read_only(e) != 0,
        synonyms: (0..n)
            .map(|i| {
                let s = *synonyms.add(i);
                (
                    cstr(sys::rd_kafka_ConfigEntry_name(s)),
                    opt(sys::rd_kafka_ConfigEntry_value(s)),
                    source(s),
                )
            })
            .collect(),
    }
}

/// Kafka's name of the source; librdkafka's names are Kafka's but for a group's own config,
/// which Kafka's `ConfigEntry.ConfigSource` calls DYNAMIC_GROUP_CONFIG.
unsafe fn source(e: *const sys::rd_kafka_ConfigEntry_t) -> String {
    let name = cstr(sys::rd_kafka_ConfigSource_name(sys::rd_kafka_ConfigEntry_source(e)));
    match name.as_str() {
        "GROUP_CONFIG" => "DYNAMIC_GROUP_CONFIG".to_string(),
        _ => name,
    }
}

unsafe fn opt(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| cstr(p))
}
