package dev.panamann.io;

import dev.panamann.models.Model;
import dev.panamann.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The pictures of a training run: loss and accuracy curves and the first layer's weights, via {@link Plots}. */
public final class TrainingPlots {
    /** File names {@link #write} uses. */
    public static final String LOSS = "loss.png", ACCURACY = "accuracy.png", WEIGHTS = "weights.png";

    private TrainingPlots() {}

    /**
     * Writes {@value #LOSS}, {@value #ACCURACY} and the first layer's weights as
     * {@value #WEIGHTS} (when they can be drawn, see {@link #firstLayerGrid}) into {@code dir}.
     *
     * @param dir             the run folder
     * @param lossHistory     loss of every iteration
     * @param trainAccHistory train accuracy at every check
     * @param valAccHistory   validation accuracy at every check
     * @param model           the trained model
     * @param inputShape      shape of one example, e.g. (3, 32, 32)
     * @return the files written
     */
    public static List<Path> write(Path dir, List<Float> lossHistory, List<Float> trainAccHistory, List<Float> valAccHistory,
                                   Model model, int[] inputShape) throws IOException {
        List<Path> files = new ArrayList<>();
        Path loss = dir.resolve(LOSS), acc = dir.resolve(ACCURACY);
        Plots.lossCurve(lossHistory, loss);
        files.add(loss);
        Plots.accuracyCurves(trainAccHistory, valAccHistory, acc);
        files.add(acc);
        Path grid = dir.resolve(WEIGHTS);
        if (firstLayerGrid(model, inputShape, grid)) files.add(grid);
        return files;
    }

    /**
     * Draws the first layer's weights: conv filters (F, C, KH, KW) as they are, or the columns
     * of an affine weight (D, H) as H images of the input shape. Returns false (and writes
     * nothing) when the first layer cannot be drawn (inputs that are not 1- or 3-channel images).
     *
     * @param model      the model; its first param is the first layer's weights
     * @param inputShape shape of one example
     * @param png        the file to write
     */
    public static boolean firstLayerGrid(Model model, int[] inputShape, Path png) throws IOException {
        Tensor w = model.params().get(0).value();
        int[] in = inputShape;
        long inputDim = 1;
        for (int d : in) inputDim *= d;
        if (w.rank() == 4 && (w.dim(1) == 1 || w.dim(1) == 3)) {
            Plots.weightGrid(w, null, 1, Math.max(2, 48 / w.dim(2)), png);
            return true;
        }
        if (w.rank() == 2 && in.length == 3 && (in[0] == 1 || in[0] == 3) && w.dim(0) == inputDim) {
            Plots.weightGrid(w, in, 1, Math.max(1, 64 / in[1]), png);
            return true;
        }
        return false;
    }
}
