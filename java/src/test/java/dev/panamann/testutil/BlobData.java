package dev.panamann.testutil;

import dev.panamann.data.Dataset;
import dev.panamann.tensor.Rng;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Base of the Solver tests: C Gaussian blobs in D dimensions (seed 42), 300 training and 100
 * validation examples made fresh for each test, and a temporary folder.
 */
public abstract class BlobData {
    protected static final int D = 10, C = 4;

    @TempDir
    protected Path dir;

    protected Dataset train, val;

    @BeforeEach
    void makeBlobs() {
        Rng rng = new Rng(42);
        float[][] centres = TinyNet.centres(rng, D, C, 1.2f);
        train = TinyNet.blobs(rng, 300, centres);
        val = TinyNet.blobs(rng, 100, centres);
    }

    @AfterEach
    void freeBlobs() {
        train.close();
        val.close();
    }
}
