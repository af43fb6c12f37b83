//! Direct uploads created and not completed yet: each is kept in the ledger before its bytes
//! are sent, so that a run stopped between `createFileUpload` and `completeFileUpload` finishes
//! the same file on the next run instead of uploading it again, and forgotten once its file is
//! recorded as uploaded ([`crate::state::Ledger::record_upload`]).
//!
//! Upload tasks do not own the ledger (they are spawned; the loop that settles them does): a
//! task sends each upload it creates to that loop ([`Created`]), which records it and answers,
//! and the task's `PUT` waits for the answer.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use super::{Dest, Files};
use crate::destination::{Destination, PendingDirectUpload, UploadGeneration};
use crate::state::{PendingUpload, StateError};

/// A direct upload a task created, on its way to the ledger.
pub(super) struct Created {
    /// The ledger's key of the file.
    key: String,
    pending: PendingDirectUpload,
    /// Answered once the upload is recorded.
    recorded: oneshot::Sender<()>,
}

/// Where a task sends the uploads it creates.
pub(super) type Notes = mpsc::Sender<Created>;

/// A channel for the uploads tasks create; the receiver stays with the ledger's owner.
pub(super) fn channel() -> (Notes, mpsc::Receiver<Created>) {
    mpsc::channel(8)
}

/// Has `pending` recorded under `key` and waits until it is; without `notes` (nothing to record
/// it in) returns at once.
pub(super) async fn record(notes: Option<&Notes>, key: &str, pending: PendingDirectUpload) {
    let Some(notes) = notes else {
        return;
    };
    let (recorded, done) = oneshot::channel();
    let created = Created {
        key: key.to_owned(),
        pending,
        recorded,
    };
    // A closed channel or an unanswered note: the phase is stopping, and the task is about to
    // be dropped with it.
    if notes.send(created).await.is_ok() {
        let _ = done.await;
    }
}

impl<D: Destination> Files<'_, D> {
    /// The direct upload an earlier attempt or run created for the file under `key` and did not
    /// complete, if the file goes by direct upload.
    pub(super) fn pending_upload(
        &self,
        dest: Dest,
        generation: Option<UploadGeneration>,
        key: &str,
    ) -> Result<Option<PendingDirectUpload>, StateError> {
        if !matches!(
            (dest, generation),
            (Dest::Field(_), Some(UploadGeneration::Direct))
        ) {
            return Ok(None);
        }
        Ok(self
            .ledger
            .pending_upload(key)?
            .map(|p| PendingDirectUpload {
                file_id: p.file_id,
                upload_url: p.upload_url,
                content_type: p.content_type,
                expires_at: p.expires_at,
                field_metadata_id: p.field_metadata_id,
                size: p.size,
            }))
    }

    /// Records a created upload, then lets its task send the bytes. On an error the task is
    /// not answered: its caller drops it before it sends anything.
    pub(super) fn record_created(&self, created: Created) -> Result<(), StateError> {
        let p = created.pending;
        let row = PendingUpload {
            file_id: p.file_id,
            upload_url: p.upload_url,
            content_type: p.content_type,
            expires_at: p.expires_at,
            field_metadata_id: p.field_metadata_id,
            size: p.size,
        };
        self.ledger.record_pending_upload(&created.key, &row)?;
        let _ = created.recorded.send(());
        Ok(())
    }

    /// Runs one upload that is not spawned, recording the uploads it creates as it goes.
    pub(super) async fn recording<T>(
        &self,
        mut created: mpsc::Receiver<Created>,
        upload: impl Future<Output = T>,
    ) -> Result<T, StateError> {
        tokio::pin!(upload);
        loop {
            tokio::select! {
                done = &mut upload => return Ok(done),
                Some(c) = created.recv() => self.record_created(c)?,
            }
        }
    }
}
