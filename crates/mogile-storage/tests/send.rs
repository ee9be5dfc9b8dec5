//! Every operation's future is `Send` (so callers can spawn them), and the handles are shareable.

use std::path::Path;

use futures_util::stream;
use mogile_storage::{
    ByteStream, GetResponse, OneShotBody, Payload, StorageClient, StorageError, StorageGetOptions,
    StoragePutOptions,
};

fn is_send<T: Send>(_: &T) {}
fn is_send_sync<T: Send + Sync>() {}

#[test]
fn futures_are_send() {
    is_send_sync::<StorageClient>();
    is_send_sync::<Payload>();
    is_send_sync::<StorageError>();
    is_send::<Option<ByteStream>>(&None);
    is_send::<Option<GetResponse>>(&None);
    let client = StorageClient::builder().build().unwrap();
    let payload = Payload::from("x");
    let (put_opts, get_opts) = (StoragePutOptions::default(), StorageGetOptions::default());
    is_send(&client.put("http://h/x", &payload, &put_opts));
    let body = OneShotBody::from_stream(stream::empty(), None);
    is_send(&body);
    is_send(&client.put_stream("http://h/x", body, &put_opts));
    is_send(&client.get("http://h/x", &get_opts));
    is_send(&client.get_to_file("http://h/x", Path::new("x"), &get_opts));
    is_send(&client.head("http://h/x"));
    is_send(&client.delete("http://h/x"));
}
