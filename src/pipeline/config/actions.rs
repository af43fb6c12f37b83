//! Sending the configuration changes, under one failure policy.

use super::ConfigReport;
use crate::destination::{ConfigChange as Action, Destination, Disposition, TargetError};

/// Sends the actions in order. A target that is down is waited out (the client's outage
/// policy); a refusal of one action is noted and the others go on; anything that stops a run
/// (a refused key, a protocol error) stops it.
pub(super) async fn apply<D: Destination>(
    target: &D,
    actions: Vec<Action>,
    report: &mut ConfigReport,
) -> Result<(), TargetError> {
    for action in actions {
        let mut outage = target.outage();
        loop {
            match target.change_configuration(&action).await {
                Ok(()) => break,
                Err(err) => match err.disposition() {
                    Disposition::RetryLater => {
                        let wait = outage.next_wait(err)?;
                        tokio::time::sleep(wait).await;
                    }
                    Disposition::RejectRecords | Disposition::Shrink => {
                        // A create sent again after its answer was lost is refused as a
                        // duplicate (2.21: INTERNAL_SERVER_ERROR for views, ENTITY_ALREADY_EXISTS
                        // for webhooks): done, if the target holds the id.
                        if let Some(id) = action.created_id() {
                            if target.configuration().await?.holds(id) {
                                break;
                            }
                        }
                        report.notes.push(format!(
                            "the target refused to {}: {err}",
                            action.describe()
                        ));
                        break;
                    }
                    Disposition::Stop => return Err(err),
                },
            }
        }
    }
    Ok(())
}
