//! `put_multipart_opts`: the parts, in the order `put_part` was called, stream into one upload of
//! unknown length (the facade's [`Writer`](mogilefs::Writer)), committed by `complete`.
//!
//! `put_part` hands its part to the upload task at once (an unbounded channel: memory is bounded
//! by the parts not yet written), and the future it returns waits only for that part to be
//! written, so callers may await the futures in any order. `abort`, or dropping the upload
//! without `complete`, commits nothing: the key keeps its previous content.

use async_trait::async_trait;
use futures::FutureExt;
use object_store::path::Path;
use object_store::{
    MultipartUpload, PutMultipartOptions, PutPayload, PutResult, Result, UploadPart,
};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::MogileStore;
use crate::error::{generic, map, not_implemented};
use crate::keys::key_of;

/// What the caller sends the upload task.
enum Msg {
    /// A part, and where to say that it was written.
    Part(PutPayload, oneshot::Sender<Result<()>>),
    /// Commit.
    Complete,
}

/// A streamed upload of one object.
pub(crate) struct Upload {
    path: String,
    tx: Option<mpsc::UnboundedSender<Msg>>,
    task: Option<JoinHandle<Result<PutResult>>>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl MogileStore {
    pub(crate) fn multipart_impl(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        if !opts.tags.is_empty() {
            return Err(not_implemented("put_multipart_opts with tags"));
        }
        if !opts.attributes.is_empty() {
            return Err(not_implemented("put_multipart_opts with attributes"));
        }
        let key = key_of(location).to_owned();
        let writer = self
            .client()
            .writer(key.as_str(), None, self.put_options())
            .map_err(|e| map(e, &key))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let store = self.clone();
        let name = key.clone();
        let task = tokio::spawn(async move { run(store, name, writer, rx).await });
        Ok(Box::new(Upload {
            path: key,
            tx: Some(tx),
            task: Some(task),
        }))
    }
}

/// The upload task: writes each part as it comes; commits only on [`Msg::Complete`].
async fn run(
    store: MogileStore,
    key: String,
    mut writer: mogilefs::Writer,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) -> Result<PutResult> {
    let mut failed: Option<String> = None;
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Part(payload, ack) => {
                if let Some(why) = &failed {
                    let _ = ack.send(Err(generic(format!("upload already failed: {why}"))));
                    continue;
                }
                let mut result = Ok(());
                for chunk in &payload {
                    if let Err(e) = writer.write_all(chunk).await {
                        failed = Some(e.to_string());
                        result = Err(generic(e));
                        break;
                    }
                }
                // The caller may have dropped the part's future: nobody to tell.
                let _ = ack.send(result);
            }
            Msg::Complete => {
                if let Some(why) = failed {
                    writer.abort();
                    return Err(generic(format!("upload failed: {why}")));
                }
                let put = writer.finish().await.map_err(|e| map(e, &key))?;
                return Ok(store.put_result_of(&key, &put).await);
            }
        }
    }
    // Every sender is gone without `complete`: abandon the upload, commit nothing.
    writer.abort();
    Err(generic("upload dropped without complete"))
}

#[async_trait]
impl MultipartUpload for Upload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let (ack, done) = oneshot::channel();
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(Msg::Part(data, ack)).is_ok());
        async move {
            if !sent {
                return Err(generic("the upload is finished"));
            }
            done.await
                .unwrap_or_else(|_| Err(generic("the upload task ended")))
        }
        .boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let tx = self
            .tx
            .take()
            .ok_or_else(|| generic("the upload is finished"))?;
        let _ = tx.send(Msg::Complete);
        let task = self
            .task
            .take()
            .ok_or_else(|| generic("the upload is finished"))?;
        task.await.map_err(generic)?
    }

    async fn abort(&mut self) -> Result<()> {
        self.tx.take();
        if let Some(task) = self.task.take() {
            // Dropping the task drops its writer, which abandons the upload.
            task.abort();
            let _ = task.await;
        }
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
