package dev.panamann.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Batcher;
import dev.panamann.data.Dataset;
import dev.panamann.models.Model;
import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Optimizers;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Data-parallel training through Spark {@code local[2]} (two barrier tasks in one JVM, talking
 * over loopback) against one process training on the combined minibatches.
 */
class SparkTrainerTest {
    private static JavaSparkContext sc;
    private static final int[] CONV_SHAPE = {3, 8, 8};

    @BeforeAll
    static void start() {
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("panama-nn-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"));
        sc.setLogLevel("ERROR");
    }

    @AfterAll
    static void stop() {
        if (sc != null) sc.stop();
    }

    private static ModelFactory twoLayer() {
        return ops -> new TwoLayerNet(ops, 12, 10, 3, 0.1f, 1e-3f, 5);
    }

    private static ModelFactory conv() {
        return ops -> new ThreeLayerConvNet(ops, CONV_SHAPE, 4, 3, 6, 5, 0.1f, 1e-3f, 5);
    }

    /** n random examples of the given size with labels in [0, classes). */
    private static List<Example> examples(int n, int d, int classes, long seed) {
        Rng r = new Rng(seed);
        List<Example> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] x = new float[d];
            for (int j = 0; j < d; j++) x[j] = (float) r.nextGaussian();
            l.add(new Example(x, r.nextInt(classes)));
        }
        return l;
    }

    private static Dataset dataset(List<Example> l, int... shape) {
        int d = l.get(0).x().length;
        int[] s = new int[shape.length + 1];
        s[0] = l.size();
        System.arraycopy(shape, 0, s, 1, shape.length);
        Tensor x = Tensor.zeros(s);
        int[] y = new int[l.size()];
        for (int i = 0; i < l.size(); i++) {
            MemorySegment.copy(l.get(i).x(), 0, x.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * d * 4, d);
            y[i] = l.get(i).label();
        }
        return new Dataset(x, y);
    }

    /**
     * One process, one replica: at every step the minibatch is the union of what the two
     * workers draw (the same shards, batchers and seeds), then one optimizer step.
     */
    private static Map<String, float[]> singleProcess(ModelFactory f, List<Example> data, int[] shape, int perRank, int steps,
                                                      String rule, Map<String, Double> cfg, long seed) {
        int half = data.size() / 2;
        try (Ops ops = threads1(Backends.create("auto"));
             Model m = f.create(ops);
             Dataset s0 = dataset(data.subList(0, half), shape);
             Dataset s1 = dataset(data.subList(half, data.size()), shape);
             Batcher b0 = new Batcher(s0, perRank, new Rng(SparkTrainer.rankSeed(seed, 0)));
             Batcher b1 = new Batcher(s1, perRank, new Rng(SparkTrainer.rankSeed(seed, 1)));
             Optimizer opt = Optimizers.create(rule, cfg)) {
            int[] bs = s0.x().shape();
            bs[0] = 2 * perRank;
            try (Tensor x = Tensor.zeros(bs)) {
                long half0 = b0.x().size() * Float.BYTES;
                int[] y = new int[2 * perRank];
                opt.prepare(m.params());
                for (int t = 0; t < steps; t++) {
                    b0.sample();
                    b1.sample();
                    MemorySegment.copy(b0.x().segment(), 0, x.segment(), 0, half0);
                    MemorySegment.copy(b1.x().segment(), 0, x.segment(), half0, half0);
                    System.arraycopy(b0.y(), 0, y, 0, perRank);
                    System.arraycopy(b1.y(), 0, y, perRank, perRank);
                    m.loss(x, y);
                    opt.step(m.params());
                }
            }
            return Worker.snapshot(m);
        }
    }

    private static Ops threads1(Ops ops) {
        ops.setThreads(1);
        return ops;
    }

    /** max over tensors of ||a - b|| / ||b||. */
    private static double relDiff(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(b.keySet(), a.keySet());
        double worst = 0;
        for (String k : b.keySet()) {
            float[] x = a.get(k), y = b.get(k);
            double d = 0, n = 0;
            for (int i = 0; i < y.length; i++) {
                d += (double) (x[i] - y[i]) * (x[i] - y[i]);
                n += (double) y[i] * y[i];
            }
            worst = Math.max(worst, Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-30));
        }
        return worst;
    }

    private static void assertReplicasIdentical(SparkTrainer.Result r) {
        List<Map<String, float[]>> reps = r.replicaStates();
        assertEquals(2, reps.size());
        for (String k : reps.get(0).keySet()) assertArrayEquals(reps.get(0).get(k), reps.get(1).get(k), k + " differs between replicas");
    }

    /** Trains through Spark and against the single process; returns the relative difference. */
    private double compare(ModelFactory f, int[] shape, int classes, String rule, double lr, int shard, int perRank, int epochs) {
        int d = 1;
        for (int s : shape) d *= s;
        List<Example> data = examples(2 * shard, d, classes, 11);
        Map<String, Double> cfg = Map.of("learning_rate", lr);
        SparkTrainer.Result r = new SparkTrainer(f, shape).workers(2).batchSize(2 * perRank).numEpochs(epochs)
                .updateRule(rule).optimConfig(cfg).seed(7).threads(1).numTrainSamples(0).verbose(false)
                .collectReplicas(true).fit(sc.parallelize(data, 2), examples(10, d, classes, 12));
        assertReplicasIdentical(r);
        int steps = epochs * (shard / perRank);
        assertEquals(steps, r.lossHistory().length);
        Map<String, float[]> ref = singleProcess(f, data, shape, perRank, steps, rule, cfg, 7);
        return relDiff(r.lastState(), ref);
    }

    @Test
    void twoLayerNetSgdMatchesOneProcessOnTheCombinedBatch() {
        double rel = compare(twoLayer(), new int[] {12}, 3, "sgd", 0.05, 60, 4, 2); // 30 steps
        assertTrue(rel < 1e-6, "relative difference " + rel);
    }

    @Test
    void twoLayerNetAdamMatchesOneProcessOnTheCombinedBatch() {
        double rel = compare(twoLayer(), new int[] {12}, 3, "adam", 1e-2, 20, 4, 1); // 5 steps
        assertTrue(rel < 1e-4, "relative difference " + rel);
    }

    @Test
    void convNetSgdMatchesOneProcessOnTheCombinedBatch() {
        double rel = compare(conv(), CONV_SHAPE, 5, "sgd", 0.05, 60, 4, 2); // 30 steps
        assertTrue(rel < 1e-6, "relative difference " + rel);
    }

    @Test
    void convNetAdamMatchesOneProcessOnTheCombinedBatch() {
        double rel = compare(conv(), CONV_SHAPE, 5, "adam", 1e-2, 20, 4, 1); // 5 steps
        assertTrue(rel < 1e-4, "relative difference " + rel);
    }

    @Test
    void aRunResumedAfterATaskFailureEndsWhereAnUninterruptedRunEnds() throws Exception {
        List<Example> data = examples(40, 12, 3, 21);
        List<Example> val = examples(10, 12, 3, 22);
        Path work = Path.of(System.getProperty("panamann.workDir", "target/test-work"));
        Files.createDirectories(work);
        Path dir = Files.createTempDirectory(work, "resume");
        SparkTrainer base = new SparkTrainer(twoLayer(), 12).workers(2).batchSize(8).numEpochs(3).updateRule("adam")
                .optimConfig(Map.of("learning_rate", 1e-2)).seed(3).threads(1).numTrainSamples(0).verbose(false);
        SparkTrainer.Result clean = base.checkpointDir(dir.resolve("clean").toString()).fit(sc.parallelize(data, 2), val);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        SparkTrainer.Result resumed = base.checkpointDir(dir.resolve("faulty").toString()).injectFailure(1, 12)
                .out(new PrintStream(log, true)).fit(sc.parallelize(data, 2), val);
        assertEquals(0, clean.restarts());
        assertEquals(1, resumed.restarts(), log.toString());
        assertEquals(2, resumed.resumedEpoch(), "5 steps per epoch: the failure at step 12 resumes from epoch 2");
        // Spark reports whichever task failed first: rank 1 itself, or a peer whose all-reduce saw rank 1 go
        assertTrue(log.toString().contains("injected failure") || log.toString().contains("rank 1 (127.0.0.1"), log.toString());
        for (String k : clean.lastState().keySet()) {
            assertArrayEquals(clean.lastState().get(k), resumed.lastState().get(k), k);
            assertArrayEquals(clean.bestState().get(k), resumed.bestState().get(k), k);
        }
        assertArrayEquals(clean.valAccHistory(), resumed.valAccHistory());
        assertArrayEquals(clean.lossHistory(), resumed.lossHistory());

        // a finished run started again resumes from its final checkpoint and takes no step
        SparkTrainer.Result again = base.injectFailure(-1, -1).fit(sc.parallelize(data, 2), val);
        assertEquals(3, again.resumedEpoch());
        for (String k : clean.lastState().keySet()) {
            assertArrayEquals(clean.lastState().get(k), again.lastState().get(k), k);
            assertArrayEquals(clean.bestState().get(k), again.bestState().get(k), k);
        }
    }

    @Test
    void theResultLoadsIntoAModelOnTheDriver() {
        List<Example> data = examples(40, 12, 3, 31);
        SparkTrainer.Result r = new SparkTrainer(twoLayer(), 12).workers(2).batchSize(8).numEpochs(1).threads(1).verbose(false)
                .fit(sc.parallelize(data, 4), data.subList(0, 10)); // 4 partitions are repartitioned to 2
        try (Model m = twoLayer().create(Backends.get())) {
            r.loadInto(m);
            float[] w1 = r.bestState().get("layers.0.weight");
            assertEquals(w1[3], m.stateDict().get("layers.0.weight").getFlat(3));
        }
        assertTrue(r.shardSize() >= 15 && r.shardSize() <= 20, "shard of " + r.shardSize());
    }

    @Test
    void badInputFailsOnTheDriverWithAClearErrorAndNoHang() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            List<Example> data = examples(40, 12, 3, 41);
            List<Example> val = examples(4, 12, 3, 42);
            SparkTrainer t = new SparkTrainer(twoLayer(), 12).workers(2).batchSize(8).numEpochs(1).threads(1).verbose(false)
                    .maxRestarts(0).timeout(Duration.ofSeconds(20));

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.fit(sc.parallelize(data, 1), val));
            assertTrue(e.getMessage().contains("1 partition(s) but the run has 2 workers"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> t.fit(sc.parallelize(data.subList(0, 1), 2), val));
            assertTrue(e.getMessage().contains("partition 0 of the training RDD is empty"), e.getMessage());

            List<Example> bad = new ArrayList<>(data);
            bad.set(30, new Example(bad.get(30).x(), 7));
            e = assertThrows(IllegalArgumentException.class, () -> t.fit(sc.parallelize(bad, 2), val));
            assertTrue(e.getMessage().contains("partition 1: training example 10 has label 7 but the model has 3 classes"),
                    e.getMessage());

            List<Example> shortOne = new ArrayList<>(data);
            shortOne.set(2, new Example(new float[11], 0));
            e = assertThrows(IllegalArgumentException.class, () -> t.fit(sc.parallelize(shortOne, 2), val));
            assertTrue(e.getMessage().contains("partition 0: example 2 has 11 values"), e.getMessage());

            SparkTrainer broken = new SparkTrainer(ops -> {
                throw new IllegalStateException("layer 'attention' is not in this version");
            }, 12).workers(2).batchSize(8).threads(1).verbose(false);
            e = assertThrows(IllegalArgumentException.class, () -> broken.fit(sc.parallelize(data, 2), val));
            assertTrue(e.getMessage().contains("cannot be built") && e.getMessage().contains("'attention'"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> t.batchSize(7).fit(sc.parallelize(data, 2), val));
            assertTrue(e.getMessage().contains("not a multiple of the 2 workers"), e.getMessage());
        });
    }
}
