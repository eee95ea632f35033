package dev.panamann.cli;

import dev.panamann.data.Dataset;
import dev.panamann.data.Datasets;
import dev.panamann.data.PreparedData;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --data} and {@code --num-test}: where a command reads its dataset and how many test
 * examples it uses ({@code train}, {@code search}, {@code evaluate}). The commands that train
 * add the {@link SplitOptions}.
 */
public final class DataOptions {
    @Option(names = "--data", paramLabel = "PATH",
            description = {"CIFAR-10: cifar-10-binary.tar.gz or its extracted folder, default",
                    "  ../shared/data/cifar10/cifar-10-binary.tar.gz;",
                    "MNIST: the folder of the four idx files, default ../shared/data/mnist.",
                    "Defaults are relative to the current directory (the repository root)."})
    Path data;

    @Option(names = "--num-test", paramLabel = "N", description = "Test examples (default: all 10000).")
    Integer numTest;

    /** The data location for {@code dataset}: --data, or the dataset's default. */
    public Path path(String dataset) {
        return data == null ? Inputs.defaultData(dataset) : data;
    }

    /**
     * The dataset split by {@code split} and preprocessed ({@link Inputs#load}).
     *
     * @param dataset         "cifar10" or "mnist"
     * @param split           --num-train and --num-val
     * @param defaultNumTrain training examples without --num-train, or null for all but the validation ones
     * @param log             where to say what was loaded
     */
    public PreparedData load(String dataset, SplitOptions split, Integer defaultNumTrain, PrintStream log) throws IOException {
        Integer numTrain = split.numTrain == null ? defaultNumTrain : split.numTrain;
        int numVal = split.numVal == null ? Datasets.defaultNumVal(dataset) : split.numVal;
        return Inputs.load(dataset, path(dataset), numTrain, numVal, numTest, log);
    }

    /** Only the test set of {@code dataset}, as read ({@link Inputs#loadTestSet}). */
    public Dataset loadTestSet(String dataset, PrintStream log) throws IOException {
        return Inputs.loadTestSet(dataset, path(dataset), numTest, log);
    }
}
