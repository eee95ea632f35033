package dev.panamann.dist;

/**
 * A collective operation failed: a peer closed its connection or died, sent nothing within the
 * timeout, or sent something that is not this protocol. The message names the peer and the
 * operation. The collective that threw is closed.
 */
public class CollectiveException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CollectiveException(String message) {
        super(message);
    }

    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
