//! The subscription list, checked before the task starts.
//!
//! Every path, mode and interval is checked here, so that a bad list is refused as the RPC's
//! status before any data is sent, and the modes can trust what they run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tether_proto::gnmi::{SubscriptionList, SubscriptionMode, subscription_list};
use tokio::time::Instant;

use super::{MIN_SAMPLE_INTERVAL, Sub, Subscription, Trigger};
use crate::encoding::WireEncoding;
use crate::error::GnmiError;
use crate::get::models;
use crate::path;
use crate::service::Shared;

impl Subscription {
    pub(super) fn new(
        shared: Arc<Shared>,
        list: &SubscriptionList,
        depth: Option<u32>,
    ) -> Result<Self, GnmiError> {
        let mode = subscription_list::Mode::try_from(list.mode)
            .map_err(|_| GnmiError::invalid(format!("unknown subscription mode {}", list.mode)))?;
        let encoding = WireEncoding::from_request(list.encoding)?;
        crate::limits::check(
            "subscriptions in the SubscriptionList",
            list.subscription.len(),
            shared.options.limits.max_subscriptions_per_stream,
            "max-subscriptions-per-stream",
        )?;
        let models = models(&shared, &list.use_models)?;
        let resolve =
            |p| path::resolve(shared.schema, list.prefix.as_ref(), p).map_err(GnmiError::from);
        let now = Instant::now();
        let mut subs = Vec::new();
        let mut target = list
            .prefix
            .as_ref()
            .map(|p| p.target.clone())
            .unwrap_or_default();
        let defaults = tether_proto::gnmi::Subscription::default();
        let entries: Vec<&tether_proto::gnmi::Subscription> = if list.subscription.is_empty() {
            vec![&defaults]
        } else {
            list.subscription.iter().collect()
        };
        for s in entries {
            let path = resolve(s.path.as_ref())?;
            if target.is_empty() {
                target = path.target.clone();
            }
            let trigger = match SubscriptionMode::try_from(s.mode) {
                Ok(SubscriptionMode::OnChange) => Trigger::OnChange,
                Ok(SubscriptionMode::Sample) => Trigger::Sample,
                Ok(SubscriptionMode::TargetDefined) => Trigger::TargetDefined,
                Err(_) => {
                    return Err(GnmiError::invalid(format!(
                        "{path}: unknown subscription mode {}",
                        s.mode
                    )));
                }
            };
            let ns = |v: u64, what: &str| -> Result<Option<Duration>, GnmiError> {
                match v {
                    0 => Ok(None),
                    v if Duration::from_nanos(v) < MIN_SAMPLE_INTERVAL => {
                        Err(GnmiError::invalid(format!(
                            "{path}: {what} {v} ns is shorter than the {} ms this target supports",
                            MIN_SAMPLE_INTERVAL.as_millis()
                        )))
                    }
                    v => Ok(Some(Duration::from_nanos(v))),
                }
            };
            // TARGET_DEFINED means the target picks the interval (spec 3.5.1.5.2): a client
            // that names one asked for something else, so say so instead of ignoring it.
            if trigger == Trigger::TargetDefined
                && mode == subscription_list::Mode::Stream
                && s.sample_interval != 0
            {
                return Err(GnmiError::invalid(format!(
                    "{path}: a TARGET_DEFINED subscription takes no sample_interval (the target \
                     chooses it); use SAMPLE to choose one"
                )));
            }
            let sample = ns(s.sample_interval, "sample_interval")?;
            let heartbeat = ns(s.heartbeat_interval, "heartbeat_interval")?;
            let period = match trigger {
                Trigger::Sample => Some(sample.unwrap_or(MIN_SAMPLE_INTERVAL)),
                _ => heartbeat,
            };
            subs.push(Sub {
                path,
                trigger,
                period,
                suppress_redundant: s.suppress_redundant,
                heartbeat,
                next: None,
                last_full: now,
                last: HashMap::new(),
            });
        }
        Ok(Subscription {
            shared,
            mode,
            encoding,
            updates_only: list.updates_only,
            models,
            target,
            depth,
            subs,
        })
    }
}
