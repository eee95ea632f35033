package dev.panamann.cli;

import dev.panamann.data.PreparedData;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --data} and {@code --num-train} of the CIFAR-10 example programs, which read CIFAR-10 the same way. */
public final class CifarDataOptions {
    @Option(names = "--data", paramLabel = "PATH", description = "cifar-10-binary.tar.gz or its folder (default: ${DEFAULT-VALUE}).",
            defaultValue = "../shared/data/cifar10/cifar-10-binary.tar.gz")
    public Path data;

    @Option(names = "--num-train", paramLabel = "N", description = "Training images (default: 49000); lower it for a quick look.")
    public Integer numTrain;

    /**
     * The training images (and 1000 validation images after them) and the test set, as
     * {@link Inputs#loadCifar} reads them.
     */
    public PreparedData load(PrintStream log) throws IOException {
        return Inputs.loadCifar(data, numTrain, 1000, null, log);
    }
}
