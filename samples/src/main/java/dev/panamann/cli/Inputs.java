package dev.panamann.cli;

import dev.panamann.data.Cifar10;
import dev.panamann.data.Dataset;
import dev.panamann.data.Datasets;
import dev.panamann.data.PreparedData;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The files and folders a command reads and writes, checked with the option names in the
 * messages ({@link UserError}s), before the library ({@link Datasets}) reads them: data
 * locations and their defaults, example counts, the output folder.
 */
public final class Inputs {
    /** Default CIFAR-10 location, relative to the current directory (the repository root). */
    public static final Path DEFAULT_CIFAR = Path.of("..", "shared", "data", "cifar10", Cifar10.ARCHIVE_NAME);
    /** Default MNIST folder, relative to the current directory (the repository root). */
    public static final Path DEFAULT_MNIST = Path.of("..", "shared", "data", "mnist");

    private static final String CIFAR_FORM = "the " + Cifar10.ARCHIVE_NAME + " archive or its extracted " + Cifar10.FOLDER_NAME + "/ folder";
    private static final String MNIST_FORM = "the folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            + "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz";

    private Inputs() {}

    /** The default data location of a dataset ("cifar10" or "mnist"), relative to the current directory. */
    public static Path defaultData(String dataset) {
        return "mnist".equals(dataset) ? DEFAULT_MNIST : DEFAULT_CIFAR;
    }

    /**
     * {@link Datasets#load}, after checking the dataset name, the path (--data) and the counts
     * (--num-train, --num-val, --num-test).
     *
     * @param path the data, or null for {@link #defaultData}
     */
    public static PreparedData load(String dataset, Path path, Integer numTrain, int numVal, Integer numTest, PrintStream log)
            throws IOException {
        Path p = path == null ? defaultData(dataset) : path;
        switch (dataset) {
            case "cifar10" -> requireData(p, "CIFAR-10", CIFAR_FORM, DEFAULT_CIFAR);
            case "mnist" -> {
                requireData(p, "MNIST", MNIST_FORM, DEFAULT_MNIST);
                if (!Files.isDirectory(p)) {
                    throw new UserError("MNIST data must be a folder, but " + p + " is a file.\n  Pass the folder holding the four idx files with --data DIR.");
                }
            }
            default -> throw new UserError("unknown dataset '" + dataset + "': use " + String.join(" or ", Datasets.NAMES));
        }
        checkCounts(numTrain, numVal, numTest);
        return Datasets.load(dataset, p, numTrain, numVal, numTest, log);
    }

    /** {@link #load} of CIFAR-10. */
    public static PreparedData loadCifar(Path path, Integer numTrain, int numVal, Integer numTest, PrintStream log) throws IOException {
        return load("cifar10", path, numTrain, numVal, numTest, log);
    }

    /** {@link #load} of MNIST. */
    public static PreparedData loadMnist(Path path, Integer numTrain, int numVal, Integer numTest, PrintStream log) throws IOException {
        return load("mnist", path, numTrain, numVal, numTest, log);
    }

    /**
     * {@link Datasets#loadTestSet}, after checking the dataset name, the path and --num-test.
     *
     * @param path the data, or null for {@link #defaultData}
     */
    public static Dataset loadTestSet(String dataset, Path path, Integer numTest, PrintStream log) throws IOException {
        Path p = path == null ? defaultData(dataset) : path;
        if (numTest != null && numTest < 1) throw new UserError("--num-test must be >= 1, got " + numTest);
        switch (dataset) {
            case "cifar10" -> requireData(p, "CIFAR-10", CIFAR_FORM, DEFAULT_CIFAR);
            case "mnist" -> requireData(p, "MNIST", "the folder holding the four idx files", DEFAULT_MNIST);
            default -> throw new UserError("unknown dataset '" + dataset + "': use " + String.join(" or ", Datasets.NAMES));
        }
        return Datasets.loadTestSet(dataset, p, numTest, log);
    }

    private static void checkCounts(Integer numTrain, int numVal, Integer numTest) {
        if (numTrain != null && numTrain < 1) throw new UserError("--num-train must be >= 1, got " + numTrain);
        if (numVal < 1) throw new UserError("--num-val must be >= 1, got " + numVal);
        if (numTest != null && numTest < 1) throw new UserError("--num-test must be >= 1, got " + numTest);
        if (numTrain != null && (long) numTrain + numVal > Integer.MAX_VALUE) {
            throw new UserError("--num-train " + numTrain + " plus --num-val " + numVal + " examples are more than any dataset holds: "
                    + "lower --num-train / --num-val");
        }
    }

    /** Throws a {@link UserError} saying where the data was expected and how to pass it. */
    static void requireData(Path path, String what, String form, Path defaultPath) {
        requireFile(path, what + " data", "--data PATH", form, defaultPath);
    }

    /**
     * Throws a {@link UserError} unless {@code path} exists, naming it and the option that sets it.
     *
     * @param path        the path to check
     * @param what        what was looked for, e.g. "CIFAR-10 data"
     * @param option      the option that sets it, e.g. "--data PATH"
     * @param form        what the option takes
     * @param defaultPath the default, or null when there is none
     */
    static void requireFile(Path path, String what, String option, String form, Path defaultPath) {
        if (Files.exists(path)) return;
        throw new UserError(what + " not found at " + path + (path.isAbsolute() ? "" : " (" + path.toAbsolutePath().normalize() + ")")
                + ".\n  Pass it with " + option + ": " + form + "."
                + (defaultPath == null ? "" : "\n  The default is " + defaultPath + ", relative to the current directory."));
    }

    /**
     * The output folder of a run, created.
     *
     * @param given the folder asked for (--out), or null for {@code runs/<name>-<timestamp>} under
     *              the current directory
     * @param name  what ran, e.g. "train-convnet"
     */
    public static Path outDir(Path given, String name) throws IOException {
        Path dir = given;
        if (dir == null) {
            String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
            dir = Path.of("runs", name + "-" + stamp);
            for (int k = 2; Files.exists(dir); k++) dir = Path.of("runs", name + "-" + stamp + "-" + k);
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new UserError("--out " + dir + " exists and is not a folder");
        return Files.createDirectories(dir);
    }
}
