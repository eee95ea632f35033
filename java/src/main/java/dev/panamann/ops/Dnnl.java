package dev.panamann.ops;

import dev.panamann.bindings.dnnl.dnnl_h;

/** Small helpers around the oneDNN C API shared by the native ops. */
final class Dnnl {
    private Dnnl() {}

    /** Throws {@link IllegalStateException} naming the call and oneDNN's status when status is not success. */
    static void check(int status, String call) {
        if (status != dnnl_h.dnnl_success()) {
            String text;
            try {
                text = NativeOps.cString(dnnl_h.dnnl_status2str(status));
            } catch (RuntimeException e) {
                text = "status " + status;
            }
            throw new IllegalStateException(call + " failed: " + text);
        }
    }
}
