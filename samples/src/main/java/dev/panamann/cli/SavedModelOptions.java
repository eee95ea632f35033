package dev.panamann.cli;

import dev.panamann.ops.Ops;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --model-dir} and {@code --weights}: a saved model to load ({@code evaluate}, {@code predict}). */
public final class SavedModelOptions {
    @Option(names = "--model-dir", paramLabel = "DIR", required = true,
            description = "Folder holding model.json, model.safetensors (and mean_image.safetensors): the --out of train or search.")
    Path modelDir;

    @Option(names = "--weights", paramLabel = "FILE",
            description = "Use these weights instead of model.safetensors: another model file, or a checkpoint_epoch_<e>.safetensors "
                    + "of the run (its best parameters).")
    Path weights;

    /** The model folder. */
    public Path modelDir() { return modelDir; }

    /** The saved model, rebuilt on {@code ops} with its weights ({@link SavedRun#load}). */
    public SavedRun.Loaded load(Ops ops) throws IOException {
        return SavedRun.load(modelDir, weights, ops);
    }
}
