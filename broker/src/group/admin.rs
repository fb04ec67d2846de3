//! ListGroups, DescribeGroups and DeleteGroups.

use kafka_protocol::error::ResponseError;

use super::classic::GroupState;
use super::messages::{
    DeleteGroupsResponse, DescribedConsumerGroup, DescribedConsumerMember, DescribedGroup, DescribedMember, ListedGroup,
};
use super::offsets::offset_record;
use super::task::Core;

impl Core {
    /// Every group, or those in one of `states` (ListGroups v4+; compared case-insensitively).
    pub fn list(&self, states: &[String]) -> Vec<ListedGroup> {
        let mut out: Vec<ListedGroup> = self
            .groups
            .values()
            .filter(|g| states.is_empty() || states.iter().any(|s| s.eq_ignore_ascii_case(g.state_name())))
            .map(|g| ListedGroup {
                group_id: g.group_id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state_name(),
                group_type: match g.consumer {
                    Some(_) => "consumer",
                    None => "classic",
                },
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// Kafka's group summary: members always; their metadata and assignments, and the protocol,
    /// only when Stable. An unknown group is described as Dead with no error (v0–5), and so is
    /// a consumer group, which only ConsumerGroupDescribe describes (as Kafka 4 answers v5).
    pub fn describe(&self, groups: &[String]) -> Vec<DescribedGroup> {
        groups
            .iter()
            .map(|id| {
                if id.is_empty() {
                    return DescribedGroup {
                        group_id: id.clone(),
                        error: Some(ResponseError::InvalidGroupId),
                        state: GroupState::Dead.name(),
                        ..Default::default()
                    };
                }
                let Some(g) = self.groups.get(id).filter(|g| g.consumer.is_none()) else {
                    let not_found = match self.groups.contains_key(id) {
                        true => format!("Group {id} is not a classic group."),
                        false => format!("Group {id} not found."),
                    };
                    return DescribedGroup {
                        group_id: id.clone(),
                        state: GroupState::Dead.name(),
                        not_found: Some(not_found),
                        ..Default::default()
                    };
                };
                let stable = g.state == GroupState::Stable;
                let protocol = g.protocol_name.clone().filter(|_| stable).unwrap_or_default();
                DescribedGroup {
                    group_id: id.clone(),
                    error: None,
                    not_found: None,
                    state: g.state.name(),
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    members: g
                        .members
                        .values()
                        .map(|m| DescribedMember {
                            member_id: m.member_id.clone(),
                            group_instance_id: m.group_instance_id.clone(),
                            client_id: m.client_id.clone(),
                            client_host: m.client_host.clone(),
                            metadata: if stable {
                                m.metadata(&protocol)
                            } else {
                                Default::default()
                            },
                            assignment: if stable {
                                m.assignment.clone()
                            } else {
                                Default::default()
                            },
                        })
                        .collect(),
                    protocol_data: protocol,
                }
            })
            .collect()
    }

    /// Deletes empty groups with their offsets (tombstones for each, then for the group).
    pub fn delete_groups(&mut self, groups: &[String]) -> DeleteGroupsResponse {
        let mut response = DeleteGroupsResponse::default();
        let now = self.ctx.clock.now_ms();
        for id in groups {
            let error = match self.groups.get(id) {
                _ if id.is_empty() => Some(ResponseError::InvalidGroupId),
                None => Some(ResponseError::GroupIdNotFound),
                Some(g) if !g.is_empty() => Some(ResponseError::NonEmptyGroup),
                Some(g) => {
                    let mut records: Vec<_> = g.offsets.keys().map(|(t, p)| offset_record(id, t, *p, None)).collect();
                    records.extend(g.tombstones());
                    match self.ctx.store.append(id, &records, None, now) {
                        Ok(durable) => {
                            response.durable.add(durable);
                            self.groups.remove(id);
                            tracing::info!(group = %id, "deleted group");
                            None
                        }
                        Err(e) => {
                            tracing::warn!(group = %id, error = %e, "could not delete group");
                            Some(ResponseError::NotCoordinator)
                        }
                    }
                }
            };
            response.results.push((id.clone(), error));
        }
        response
    }
}

impl Core {
    /// ConsumerGroupDescribe: a group that is not a consumer group is GROUP_ID_NOT_FOUND, as
    /// Kafka answers (its admin client then asks DescribeGroups).
    pub fn describe_consumer_groups(&self, groups: &[String]) -> Vec<DescribedConsumerGroup> {
        groups
            .iter()
            .map(|id| {
                let Some(cg) = self.groups.get(id).and_then(|g| g.consumer.as_ref()) else {
                    return DescribedConsumerGroup {
                        group_id: id.clone(),
                        error: Some(ResponseError::GroupIdNotFound),
                        error_message: Some(format!("Group {id} is not a consumer group.")),
                        state: GroupState::Dead.name(),
                        ..Default::default()
                    };
                };
                DescribedConsumerGroup {
                    group_id: id.clone(),
                    error: None,
                    error_message: None,
                    state: cg.state_name(),
                    epoch: cg.epoch,
                    assignment_epoch: cg.assignment_epoch,
                    assignor: cg.assignor.clone(),
                    members: cg
                        .members
                        .values()
                        .map(|m| DescribedConsumerMember {
                            member_id: m.member_id.clone(),
                            instance_id: m.instance_id.clone(),
                            rack_id: m.rack_id.clone(),
                            member_epoch: m.epoch,
                            client_id: m.client_id.clone(),
                            client_host: m.client_host.clone(),
                            subscribed_topic_names: m.subscribed_names.clone(),
                            subscribed_topic_regex: m.subscribed_regex.clone(),
                            assignment: m.assigned.clone(),
                            target: cg.target.get(&m.member_id).cloned().unwrap_or_default(),
                        })
                        .collect(),
                }
            })
            .collect()
    }
}
