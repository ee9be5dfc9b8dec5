//! object_store's own backend conformance suite (`object_store::integration`), every function
//! that applies to MogileFS. The skip list, with the reasons, is in the crate's README:
//! `multipart`, `multipart_with_opts` and `multipart_put_part_out_of_order` need a
//! `MultipartStore` (parts uploaded independently, by index, and assembled later), which a single
//! streamed upload cannot be.

use object_store::integration::*;

use crate::support::Target;

/// Runs one suite function against a fresh target.
macro_rules! suite {
    ($($name:ident => |$s:ident, $t:ident| $body:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let $t = Target::start().await;
            let $s = $t.store();
            $body;
            drop($s);
            $t.shutdown().await;
        }
    )*};
}

suite! {
    put_get_delete_list_passes => |s, t| put_get_delete_list(&*s).await;
    put_get_attributes_passes => |s, t| put_get_attributes(&*s).await;
    get_opts_passes => |s, t| get_opts(&*s).await;
    put_opts_passes_without_update => |s, t| put_opts(&*s, false).await;
    list_uses_directories_correctly_passes => |s, t| list_uses_directories_correctly(&*s).await;
    list_with_delimiter_passes => |s, t| list_with_delimiter(&*s).await;
    list_with_offset_exclusivity_passes => |s, t| list_with_offset_exclusivity(&*s).await;
    rename_and_copy_passes => |s, t| rename_and_copy(&*s).await;
    copy_if_not_exists_passes => |s, t| copy_if_not_exists(&*s).await;
    copy_rename_nonexistent_object_passes => |s, t| copy_rename_nonexistent_object(&*s).await;
    stream_get_passes => |s, t| stream_get(&*s).await;
    get_nonexistent_object_passes => |s, t| {
        let err = get_nonexistent_object(&*s, None).await.unwrap_err();
        assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
    };
    multipart_race_condition_passes_last_writer_wins => |s, t| multipart_race_condition(&*s, true).await;
    multipart_out_of_order_passes => |s, t| multipart_out_of_order(&*s).await;
    list_paginated_passes => |s, t| {
        // PrefixStore does not forward PaginatedListStore: embedded cluster only.
        if let Some(store) = t.embedded() {
            list_paginated(&*s, store).await;
        }
    };
}
