//! ConsumerGroupDescribe (KIP-848): a consumer group with each member's assignment and target,
//! topics by id and name. A group the user may not describe is GROUP_AUTHORIZATION_FAILED; a
//! classic group is GROUP_ID_NOT_FOUND, after which Kafka's admin client asks DescribeGroups.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{Assignment, DescribedGroup, Member, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, GroupId, TopicName};

use super::{code, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::group;

/// KIP-1099's member type: this broker's consumer groups hold only KIP-848 members.
const MEMBER_TYPE_CONSUMER: i8 = 1;

pub async fn handle(cx: &Cx<'_>, request: ConsumerGroupDescribeRequest) -> ConsumerGroupDescribeResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let (ids, denied): (Vec<String>, Vec<String>) = request
        .group_ids
        .iter()
        .map(|g| g.0.to_string())
        .partition(|g| access.allows(Operation::Describe, Resource::Group(g)));
    let mut response = ConsumerGroupDescribeResponse::default();
    for group_id in denied {
        let mut d = DescribedGroup::default();
        d.error_code = ResponseError::GroupAuthorizationFailed.code();
        d.group_id = GroupId(str_bytes(group_id));
        response.groups.push(d);
    }
    let assignment = |a: group::Assignment| {
        let mut out = Assignment::default();
        out.topic_partitions = a
            .into_iter()
            .filter_map(|(name, partitions)| {
                let topic = broker.topics.get(&name)?;
                let mut tp = TopicPartitions::default();
                tp.topic_id = topic.id;
                tp.topic_name = TopicName(str_bytes(name));
                tp.partitions = partitions.into_iter().collect();
                Some(tp)
            })
            .collect();
        out
    };
    for g in broker.groups.describe_consumer_groups(ids).await {
        let mut d = DescribedGroup::default();
        d.error_code = code(g.error);
        d.error_message = g.error_message.map(str_bytes);
        if request.include_authorized_operations {
            d.authorized_operations = access.authorized_operations(Resource::Group(&g.group_id));
        }
        d.group_id = GroupId(str_bytes(g.group_id));
        d.group_state = str_bytes(g.state);
        d.group_epoch = g.epoch;
        d.assignment_epoch = g.assignment_epoch;
        d.assignor_name = str_bytes(g.assignor);
        d.members = g
            .members
            .into_iter()
            .map(|m| {
                let mut member = Member::default();
                member.member_id = str_bytes(m.member_id);
                member.instance_id = m.instance_id.map(str_bytes);
                member.rack_id = m.rack_id.map(str_bytes);
                member.member_epoch = m.member_epoch;
                member.client_id = str_bytes(m.client_id);
                member.client_host = str_bytes(m.client_host);
                member.subscribed_topic_names = m
                    .subscribed_topic_names
                    .into_iter()
                    .map(|t| TopicName(str_bytes(t)))
                    .collect();
                member.subscribed_topic_regex = m.subscribed_topic_regex.map(str_bytes);
                member.assignment = assignment(m.assignment);
                member.target_assignment = assignment(m.target);
                if cx.version >= 1 {
                    member.member_type = MEMBER_TYPE_CONSUMER;
                }
                member
            })
            .collect();
        response.groups.push(d);
    }
    response
}
