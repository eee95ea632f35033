package dev.panamann.cli;

/**
 * A mistake the user can fix (a missing file, a bad option value): the command line prints the
 * message, without a stack trace, and exits with {@link Cli#EXIT_USAGE}.
 */
public final class UserError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and how to fix it (may span lines) */
    public UserError(String message) {
        super(message);
    }

    /**
     * @param message what was wrong and how to fix it
     * @param cause   the underlying exception (shown with --debug)
     */
    public UserError(String message, Throwable cause) {
        super(message, cause);
    }
}
