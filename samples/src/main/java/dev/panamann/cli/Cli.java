package dev.panamann.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * The {@code panama-nn} command line: train, evaluate, predict, gradcheck and search.
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -jar samples/target/panama-nn-samples.jar train --epochs 8
 * </pre>
 *
 * Exit codes: {@value #EXIT_OK} success, {@value #EXIT_FAIL} a gradient check failed,
 * {@value #EXIT_USAGE} a usage or input error (bad option, missing or bad file; the message says
 * which, without a stack trace), {@value #EXIT_ERROR} an unexpected error (one line naming it, also for
 * {@link OutOfMemoryError}; {@code --debug} adds the stack trace).
 */
@Command(name = "panama-nn", mixinStandardHelpOptions = true, version = "panama-nn 0.1.0",
        description = "Train, evaluate and inspect neural networks on the CPU (OpenBLAS + oneDNN through the FFM API).",
        subcommands = {TrainCommand.class, EvaluateCommand.class, PredictCommand.class, GradcheckCommand.class,
                SearchCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Data defaults, relative to the current directory (run from the repository root):",
                "  CIFAR-10  ../shared/data/cifar10/cifar-10-binary.tar.gz",
                "  MNIST     ../shared/data/mnist",
                "Exit codes: 0 success, 1 gradient check failed, 2 usage or input error, 3 unexpected error."})
public final class Cli implements Runnable {
    /** Success. */
    public static final int EXIT_OK = 0;
    /** A check failed (gradcheck). */
    public static final int EXIT_FAIL = 1;
    /** A usage or input error: bad option, missing or bad file. */
    public static final int EXIT_USAGE = 2;
    /** An unexpected error. */
    public static final int EXIT_ERROR = 3;

    /** When the program started (this class loads first, in {@code main}): the start of a run's wall time. */
    static final long START = System.nanoTime();

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command: train, evaluate, predict, gradcheck or search");
    }

    public static void main(String[] args) {
        int code;
        try {
            code = execute(args);
        } catch (Throwable t) { // anything picocli did not hand to the handler: still one line, exit 3
            System.err.println("panama-nn: " + unexpected(t));
            if (java.util.Arrays.asList(args).contains("--debug")) t.printStackTrace();
            code = EXIT_ERROR;
        }
        System.out.flush();
        System.exit(code);
    }

    /**
     * The one line printed for an error that is not the user's to fix (exit {@value #EXIT_ERROR}):
     * what happened, without a stack trace (add {@code --debug} for it).
     */
    static String unexpected(Throwable ex) {
        if (ex instanceof dev.panamann.train.TrainingDivergedException) return "error: " + ex.getMessage();
        if (ex instanceof OutOfMemoryError) {
            return "out of memory: " + message(ex) + ". Give the JVM more (-Xmx, or free RAM for off-heap tensors) or use "
                    + "smaller sizes (--batch-size, --num-train, the model's sizes). Run with --debug for the stack trace.";
        }
        return "unexpected error: " + ex.getClass().getName() + ": " + message(ex) + " (run with --debug for the stack trace)";
    }

    /** Runs the command line in this JVM and returns the exit code (for tests and embedding). */
    public static int execute(String... args) {
        return commandLine().execute(args);
    }

    /** The configured command line: error handling and the defaults table in {@code train --help}. */
    public static CommandLine commandLine() {
        CommandLine cl = configure(new CommandLine(new Cli()));
        cl.getSubcommands().get("train").getCommandSpec().usageMessage().footer(TrainCommand.defaultsFooter());
        return cl;
    }

    /**
     * Runs a sample's command object (a picocli {@code @Command}) with the command line's error
     * handling and returns the exit code.
     */
    public static int runSample(Object command, String... args) {
        int code = configure(new CommandLine(command)).execute(args);
        System.out.flush();
        return code;
    }

    /** Usage width and error handling: user errors print one message (exit 2), others a stack trace (exit 3). */
    static CommandLine configure(CommandLine cl) {
        cl.setUsageHelpWidth(100);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            boolean debug = parseResult.expandedArgs().contains("--debug");
            PrintWriter err = cmd.getErr();
            int code;
            if (ex instanceof UserError || ex instanceof IOException || ex instanceof IllegalArgumentException) {
                err.println(cmd.getCommandSpec().qualifiedName() + ": error: " + message(ex));
                code = EXIT_USAGE;
            } else {
                err.println(cmd.getCommandSpec().qualifiedName() + ": " + unexpected(ex));
                code = EXIT_ERROR;
            }
            if (debug) ex.printStackTrace(err);
            err.flush();
            return code;
        });
        return cl;
    }

    /** The message of an exception, with what the JDK leaves implicit (e.g. "no such file"). */
    static String message(Throwable e) {
        if (e instanceof FileSystemException f && f.getReason() == null) {
            String kind = e instanceof NoSuchFileException ? "no such file" : e instanceof AccessDeniedException ? "permission denied"
                    : e.getClass().getSimpleName();
            return kind + ": " + f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile());
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
