package dev.panamann.cli;

import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --out}: the folder a command writes into ({@code train}, {@code search}, {@code evaluate}). */
public final class OutOption {
    @Option(names = "--out", paramLabel = "DIR",
            description = {"Folder for what the command writes. train: everything of the run (default: runs/train-<model>-<timestamp>; "
                    + "with --resume, the checkpoint's folder); search: search.csv and the best model (default: "
                    + "runs/search-<model>-<timestamp>); evaluate: evaluation.json (default: none, written only with --out)."})
    Path out;

    /** The folder given, or null. */
    public Path given() { return out; }

    /**
     * The folder, created: --out, or {@code runs/<name>-<timestamp>} ({@link Inputs#outDir}).
     *
     * @param name what ran, e.g. "train-convnet"
     */
    public Path dir(String name) throws IOException {
        return Inputs.outDir(out, name);
    }
}
