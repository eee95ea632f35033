package dev.panamann.train;

import com.google.gson.GsonBuilder;
import dev.panamann.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a training run ({@link Training#train}) produced; the model holds the best validation
 * parameters.
 *
 * @param bestValAcc      best validation accuracy of the run (the model's now)
 * @param lossHistory     loss of every iteration
 * @param trainAccHistory train accuracy at every check (first iteration, then every epoch)
 * @param valAccHistory   validation accuracy at every check
 * @param seconds         wall time of {@link Solver#train()}, checks included
 * @param imagesPerSecond training throughput (checks excluded)
 * @param iterations      iterations done
 */
public record TrainResult(float bestValAcc, List<Float> lossHistory, List<Float> trainAccHistory, List<Float> valAccHistory,
                          double seconds, double imagesPerSecond, int iterations) {
    /** The file name {@link #writeHistory} writes. */
    public static final String HISTORY = "history.json";

    /**
     * Writes the loss and accuracy histories into {@code dir} as {@value #HISTORY}
     * ({@code loss}, {@code train_acc}, {@code val_acc}).
     *
     * @return the file written
     */
    public Path writeHistory(Path dir) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("loss", lossHistory);
        m.put("train_acc", trainAccHistory);
        m.put("val_acc", valAccHistory);
        Path f = dir.resolve(HISTORY);
        AtomicFiles.writeString(f, new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(m));
        return f;
    }
}
