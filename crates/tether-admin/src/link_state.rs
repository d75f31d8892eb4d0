//! `tether.admin.v1.LinkState`: the YANG actions of `tether-link-state` for gNMI users, who have
//! no RPC for actions (NETCONF users send `<action>`). Both call the same [`Actions`], so a
//! clear does the same whichever northbound asked for it.

use std::sync::Arc;

use tether_model::{ActionError, Actions};
use tether_proto::admin::link_state_server::{LinkState, LinkStateServer};
use tether_proto::admin::{ClearGroupRequest, ClearGroupResponse};
use tonic::{Request, Response, Status};

/// Group ids the model accepts (`tether-link-state` `group-id`).
const GROUP_IDS: std::ops::RangeInclusive<u32> = 1..=4096;

/// The gRPC service over the daemon's actions, ready to add to a tonic `Server`.
pub fn link_state_service(actions: Arc<dyn Actions>) -> LinkStateServer<LinkStateService> {
    LinkStateServer::new(LinkStateService { actions })
}

/// `tether.admin.v1.LinkState` over [`Actions`].
pub struct LinkStateService {
    actions: Arc<dyn Actions>,
}

#[tonic::async_trait]
impl LinkState for LinkStateService {
    async fn clear_group(
        &self,
        request: Request<ClearGroupRequest>,
    ) -> Result<Response<ClearGroupResponse>, Status> {
        let group = request.get_ref().group;
        let id = u16::try_from(group)
            .ok()
            .filter(|_| GROUP_IDS.contains(&group))
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "group: {group} is outside {}..{}",
                    GROUP_IDS.start(),
                    GROUP_IDS.end()
                ))
            })?;
        let user = (request.metadata().get("username"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let enabled = self
            .actions
            .clear_link_state_group(id)
            .await
            .map_err(action_status)?;
        tracing::info!(group = id, %user, enabled = enabled.len(), "link state group cleared");
        Ok(Response::new(ClearGroupResponse { enabled }))
    }
}

/// The gRPC status of an action error.
pub fn action_status(error: ActionError) -> Status {
    match &error {
        ActionError::NoSuchGroup(_) => Status::not_found(error.to_string()),
        ActionError::Unavailable(_) => Status::unavailable(error.to_string()),
    }
}
