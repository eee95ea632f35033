package dev.panamann.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Batcher;
import dev.panamann.data.Dataset;
import dev.panamann.models.FullyConnectedNet;
import dev.panamann.models.Model;
import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Optimizers;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.Evaluation;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Data-parallel training through Spark {@code local[2]} (two barrier tasks in one JVM, talking
 * over loopback) against one process training on the combined minibatches.
 */
class SparkTrainerTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static final int[] CONV_SHAPE = {3, 8, 8};

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().config(new SparkConf().setMaster("local[2]").setAppName("panama-nn-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
                .set("spark.sql.shuffle.partitions", "2")).getOrCreate();
        sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        sc.setLogLevel("ERROR");
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
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
        SparkSettings s = SparkSettings.builder(shape).workers(2).batchSize(2 * perRank).numEpochs(epochs)
                .updateRule(rule).optimConfig(cfg).seed(7).threads(1).numTrainSamples(0).verbose(false)
                .collectReplicas(true).build();
        SparkTrainer.Result r = new SparkTrainer(f, s).fit(sc.parallelize(data, 2), examples(10, d, classes, 12));
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

    /**
     * 16 filters: the native conv weights are held in oneDNN's blocked layout between steps (4
     * would be padded to a block and stay row-major); the all-reduce reads the gradients
     * row-major, the update moves them back.
     */
    @Test
    void convNetWithWeightsHeldInOneDnnsLayoutMatchesOneProcess() {
        ModelFactory sixteen = ops -> new ThreeLayerConvNet(ops, CONV_SHAPE, 16, 3, 6, 5, 0.1f, 1e-3f, 5);
        double rel = compare(sixteen, CONV_SHAPE, 5, "adam", 1e-2, 20, 4, 1); // 5 steps
        assertTrue(rel < 1e-4, "relative difference " + rel);
    }

    @Test
    void aRunResumedAfterATaskFailureEndsWhereAnUninterruptedRunEnds() throws Exception {
        List<Example> data = examples(40, 12, 3, 21);
        List<Example> val = examples(10, 12, 3, 22);
        Path work = Path.of(System.getProperty("panamann.workDir", "target/test-work"));
        Files.createDirectories(work);
        Path dir = Files.createTempDirectory(work, "resume");
        SparkSettings base = SparkSettings.builder(12).workers(2).batchSize(8).numEpochs(3).updateRule("adam")
                .learningRate(1e-2).seed(3).threads(1).numTrainSamples(0).verbose(false).build();
        SparkTrainer.Result clean = new SparkTrainer(twoLayer(), base.toBuilder().checkpointDir(dir.resolve("clean").toString()).build())
                .fit(sc.parallelize(data, 2), val);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        SparkSettings faulty = base.toBuilder().checkpointDir(dir.resolve("faulty").toString()).build();
        SparkTrainer.Result resumed = new SparkTrainer(twoLayer(), faulty, new PrintStream(log, true)).injectFailure(1, 12)
                .fit(sc.parallelize(data, 2), val);
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

        // only rank 0 writes: its checkpoints and, next to each, every rank's generator states
        List<String> files = new ArrayList<>();
        try (var l = Files.list(dir.resolve("faulty"))) {
            l.forEach(f -> files.add(f.getFileName().toString()));
        }
        files.sort(null);
        assertEquals(List.of("checkpoint_epoch_0.safetensors", "checkpoint_epoch_1.safetensors", "checkpoint_epoch_2.safetensors",
                "checkpoint_epoch_3.safetensors", "generators_epoch_0.txt", "generators_epoch_1.txt", "generators_epoch_2.txt",
                "generators_epoch_3.txt"), files);
        List<String> gens = Files.readAllLines(dir.resolve("faulty").resolve("generators_epoch_3.txt"));
        assertEquals(2, gens.size());
        assertTrue(gens.get(0).startsWith("0 ") && gens.get(1).startsWith("1 ") && !gens.get(0).substring(2).equals(gens.get(1).substring(2)),
                "each rank's own generator states: " + gens);

        // a finished run started again resumes from its final checkpoint and takes no step
        SparkTrainer.Result again = new SparkTrainer(twoLayer(), faulty).fit(sc.parallelize(data, 2), val);
        assertEquals(3, again.resumedEpoch());
        for (String k : clean.lastState().keySet()) {
            assertArrayEquals(clean.lastState().get(k), again.lastState().get(k), k);
            assertArrayEquals(clean.bestState().get(k), again.bestState().get(k), k);
        }
    }

    @Test
    void theResultLoadsIntoAModelOnTheDriver() {
        List<Example> data = examples(40, 12, 3, 31);
        SparkSettings s = SparkSettings.builder(12).workers(2).batchSize(8).numEpochs(1).threads(1).verbose(false).build();
        SparkTrainer.Result r = new SparkTrainer(twoLayer(), s)
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
            SparkTrainer t = new SparkTrainer(twoLayer(), SparkSettings.builder(12).workers(2).batchSize(8).numEpochs(1).threads(1)
                    .verbose(false).maxRestarts(0).timeout(Duration.ofSeconds(20)).build());

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
            }, t.settings());
            e = assertThrows(IllegalArgumentException.class, () -> broken.fit(sc.parallelize(data, 2), val));
            assertTrue(e.getMessage().contains("cannot be built") && e.getMessage().contains("'attention'"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> t.fit(sc.parallelize(data, 2), val.subList(0, 1)));
            assertTrue(e.getMessage().contains("the validation set has 1 example(s) but the run has 2 workers"), e.getMessage());
        });
    }

    /** A DataFrame of (label, features) rows in the same partitions as {@code sc.parallelize(examples, parts)}. */
    private static org.apache.spark.sql.Dataset<Row> frame(List<Example> l, int parts, boolean binary) {
        List<Row> rows = new ArrayList<>();
        for (Example e : l) {
            if (binary) {
                byte[] b = new byte[e.x().length];
                for (int i = 0; i < b.length; i++) b[i] = (byte) e.x()[i];
                rows.add(RowFactory.create(e.label(), b));
            } else {
                List<Float> v = new ArrayList<>();
                for (float f : e.x()) v.add(f);
                rows.add(RowFactory.create(e.label(), seq(v)));
            }
        }
        DataType features = binary ? DataTypes.BinaryType : DataTypes.createArrayType(DataTypes.FloatType, false);
        StructType schema = new StructType().add("label", DataTypes.IntegerType, false).add("pixels", features, false);
        return spark.createDataFrame(sc.parallelize(rows, parts), schema);
    }

    /** An array column's value in a Row: a Scala sequence. */
    private static scala.collection.immutable.Seq<Float> seq(List<Float> l) {
        return scala.jdk.javaapi.CollectionConverters.asScala(l).toList();
    }

    /** Unsigned-byte examples (values 0..255), as raw pixels. */
    private static List<Example> byteExamples(int n, int d, int classes, long seed) {
        Rng r = new Rng(seed);
        List<Example> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] x = new float[d];
            for (int j = 0; j < d; j++) x[j] = r.nextInt(256);
            l.add(new Example(x, r.nextInt(classes)));
        }
        return l;
    }

    private static void assertSameRun(SparkTrainer.Result a, SparkTrainer.Result b) {
        for (String k : a.lastState().keySet()) {
            assertArrayEquals(a.lastState().get(k), b.lastState().get(k), k);
            assertArrayEquals(a.bestState().get(k), b.bestState().get(k), k);
        }
        assertArrayEquals(a.lossHistory(), b.lossHistory());
        assertArrayEquals(a.valAccHistory(), b.valAccHistory());
        assertArrayEquals(a.trainAccHistory(), b.trainAccHistory());
    }

    @Test
    void aDataFrameTrainsToTheSameBitsAsTheRddOfItsRows() {
        SparkSettings s = SparkSettings.builder(12).workers(2).batchSize(8).numEpochs(2).updateRule("adam").learningRate(1e-2)
                .seed(5).threads(1).numTrainSamples(0).verbose(false).build();
        List<Example> data = examples(40, 12, 3, 51), val = examples(10, 12, 3, 52);
        SparkTrainer t = new SparkTrainer(twoLayer(), s);
        SparkTrainer.Result fromRdd = t.fit(sc.parallelize(data, 2), val);
        SparkTrainer.Result fromFrame = t.fit(frame(data, 2, false), frame(val, 1, false), "label", "pixels");
        assertSameRun(fromRdd, fromFrame);

        // raw pixels in a binary column: each byte is one unsigned value
        List<Example> bytes = byteExamples(40, 12, 3, 53), valBytes = byteExamples(10, 12, 3, 54);
        SparkSettings sgd = s.toBuilder().updateRule("sgd").learningRate(1e-5).build();
        SparkTrainer.Result rdd = new SparkTrainer(twoLayer(), sgd).fit(sc.parallelize(bytes, 2), valBytes);
        SparkTrainer.Result bin = new SparkTrainer(twoLayer(), sgd).fit(frame(bytes, 2, true), frame(valBytes, 1, true), "label", "pixels");
        assertSameRun(rdd, bin);
    }

    @Test
    void aDataFrameWithOneColumnPerValueAndAnotherPartitionCountTrains() {
        List<Example> data = examples(40, 3, 3, 61);
        List<Row> rows = new ArrayList<>();
        for (Example e : data) rows.add(RowFactory.create((long) e.label(), (double) e.x()[0], e.x()[1], (double) e.x()[2]));
        StructType schema = new StructType().add("y", DataTypes.LongType).add("a", DataTypes.DoubleType)
                .add("b", DataTypes.FloatType).add("c", DataTypes.DoubleType);
        org.apache.spark.sql.Dataset<Row> df = spark.createDataFrame(sc.parallelize(rows, 3), schema); // repartitioned to 2
        SparkSettings s = SparkSettings.builder(3).workers(2).batchSize(4).numEpochs(1).threads(1).verbose(false).build();
        SparkTrainer.Result r = new SparkTrainer(ops -> new TwoLayerNet(ops, 3, 5, 3, 0.1f, 1e-3f, 5), s).fit(df, df, "y", "a", "b", "c");
        assertTrue(r.shardSize() >= 19 && r.shardSize() <= 20, "shard of " + r.shardSize());
        assertEquals(r.shardSize() / 2, r.lossHistory().length);
    }

    @Test
    void badDataFramesFailOnTheDriverNamingTheColumnAndTheRow() {
        // a guard against a hang, not a speed bound: eight runs, each a few seconds on an idle machine
        assertTimeoutPreemptively(Duration.ofSeconds(300), () -> {
            SparkTrainer t = new SparkTrainer(twoLayer(), SparkSettings.builder(12).workers(2).batchSize(8).numEpochs(1).threads(1)
                    .verbose(false).maxRestarts(0).build());
            List<Example> data = examples(40, 12, 3, 71);
            org.apache.spark.sql.Dataset<Row> good = frame(data, 2, false), val = frame(data.subList(0, 6), 1, false);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.fit(good, val, "class", "pixels"));
            assertTrue(e.getMessage().contains("no label column 'class'") && e.getMessage().contains("[label, pixels]"), e.getMessage());

            org.apache.spark.sql.Dataset<Row> doubleLabel = good.withColumn("label", good.col("label").cast("double"));
            e = assertThrows(IllegalArgumentException.class, () -> t.fit(doubleLabel, val, "label", "pixels"));
            assertTrue(e.getMessage().contains("label column 'label' is of type double"), e.getMessage());

            org.apache.spark.sql.Dataset<Row> text = good.withColumn("pixels", good.col("label").cast("string"));
            e = assertThrows(IllegalArgumentException.class, () -> t.fit(text, val, "label", "pixels"));
            assertTrue(e.getMessage().contains("feature column 'pixels' is of type string"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> t.fit(good, val, "label", "label", "pixels"));
            assertTrue(e.getMessage().contains("'label' is both the label and a feature"), e.getMessage());

            List<Example> shortOne = new ArrayList<>(data);
            shortOne.set(23, new Example(new float[11], 0)); // partition 1, row 3
            e = assertThrows(IllegalArgumentException.class, () -> t.fit(frame(shortOne, 2, false), val, "label", "pixels"));
            assertTrue(e.getMessage().contains("partition 1: training row 3: the feature column 'pixels' holds 11 values but the example"
                    + " shape needs 12"), e.getMessage());

            List<Example> badLabel = new ArrayList<>(data);
            badLabel.set(30, new Example(badLabel.get(30).x(), 7));
            e = assertThrows(IllegalArgumentException.class, () -> t.fit(frame(badLabel, 2, false), val, "label", "pixels"));
            assertTrue(e.getMessage().contains("partition 1: training row 10 has label 7 (column 'label') but the model has 3 classes"),
                    e.getMessage());

            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                Float[] x = new Float[12];
                Arrays.fill(x, 0f);
                if (i == 2) x[5] = null;
                rows.add(RowFactory.create(i == 4 ? null : 1, seq(Arrays.asList(x))));
            }
            StructType nullable = new StructType().add("label", DataTypes.IntegerType)
                    .add("pixels", DataTypes.createArrayType(DataTypes.FloatType));
            org.apache.spark.sql.Dataset<Row> nulls = spark.createDataFrame(rows, nullable);
            e = assertThrows(IllegalArgumentException.class, () -> t.fit(good, nulls, "label", "pixels"));
            assertTrue(e.getMessage().contains("validation row 2: value 5 of the feature column 'pixels' is null"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.fit(good, nulls.limit(2).union(nulls.where("label is null")),
                    "label", "pixels"));
            assertTrue(e.getMessage().contains("validation row 2: the label column 'label' is null"), e.getMessage());
        });
    }

    /** Each worker evaluates its share of the validation set; the summed counts give the whole set's accuracy. */
    @Test
    void validationAccuracyIsThatOfTheWholeSetAndBatchNormStatisticsAreAveraged() {
        ModelFactory bn = ops -> new FullyConnectedNet(ops, new int[] {10}, 12, 3,
                FullyConnectedNet.Options.DEFAULT.withWeightScale(0.1f).withBatchNorm(true).withSeed(9));
        List<Example> data = examples(48, 12, 3, 81), val = examples(25, 12, 3, 82); // shares of 12 and 13
        SparkSettings s = SparkSettings.builder(12).workers(2).batchSize(8).numEpochs(3).updateRule("adam").learningRate(1e-2)
                .seed(1).threads(1).numTrainSamples(0).verbose(false).collectReplicas(true).build();
        SparkTrainer.Result r = new SparkTrainer(bn, s).fit(sc.parallelize(data, 2), val);
        assertReplicasIdentical(r); // the running statistics too, though each worker normalized its own batches
        try (Model m = bn.create(Backends.get()); Dataset v = dataset(val, 12)) {
            assertTrue(m.buffers().size() >= 2, "the model has running statistics: " + m.buffers().keySet());
            float[] hist = r.valAccHistory();
            SparkTrainer.Result.load(r.lastState(), m);
            assertEquals((float) Evaluation.accuracy(m, v, 7), hist[hist.length - 1], "the last check: the whole set on one process");
            r.loadInto(m);
            assertEquals((float) Evaluation.accuracy(m, v, 7), r.bestValAcc(), "the best parameters' accuracy");
            for (float a : hist) assertEquals(Math.round(a * 25), a * 25, 1e-4, "a count of the 25 examples: " + a);
        }
        // a subsample of the validation set is split the same way: 10 examples, 5 per worker
        SparkTrainer.Result sub = new SparkTrainer(bn, s.toBuilder().numValSamples(10).collectReplicas(false).build())
                .fit(sc.parallelize(data, 2), val);
        for (float a : sub.valAccHistory()) assertEquals(Math.round(a * 10), a * 10, 1e-4, "a count of 10 examples: " + a);
    }

    @Test
    void settingsAreCheckedWhenBuiltWithClearErrors() {
        SparkSettings d = SparkSettings.builder(3, 4, 4).build();
        assertEquals(2, d.workers());
        assertEquals(64, d.batchSize());
        assertEquals(32, d.batchPerWorker());
        assertEquals(48, d.exampleSize());
        assertEquals("sgd", d.updateRule());
        assertEquals(Duration.ofSeconds(120), d.timeout());
        SparkSettings c = d.toBuilder().workers(4).build();
        assertEquals(4, c.workers());
        assertArrayEquals(d.exampleShape(), c.exampleShape());
        assertEquals(d.optimConfig(), c.optimConfig());
        assertEquals(d.timeout(), c.timeout());
        String[][] bad = {
                {"workers must be >= 1, got 0"}, {"batch size 7 is not a multiple of the 2 workers"}, {"numEpochs must be >= 1"},
                {"unknown update rule 'adagrad'"}, {"unknown backend 'gpu'"}, {"threads must be >= 0"}, {"checkpoint directory is blank"},
                {"maxRestarts must be >= 0"}, {"timeout must be > 0"}, {"lrDecay must be a finite number > 0"},
                {"example shape [3, 0] has a dimension < 1"}, {"printEvery must be >= 1"}};
        List<java.util.function.Supplier<SparkSettings>> builds = List.of(
                () -> SparkSettings.builder(12).workers(0).build(),
                () -> SparkSettings.builder(12).batchSize(7).build(),
                () -> SparkSettings.builder(12).numEpochs(0).build(),
                () -> SparkSettings.builder(12).updateRule("adagrad").build(),
                () -> SparkSettings.builder(12).backend("gpu").build(),
                () -> SparkSettings.builder(12).threads(-1).build(),
                () -> SparkSettings.builder(12).checkpointDir(" ").build(),
                () -> SparkSettings.builder(12).maxRestarts(-1).build(),
                () -> SparkSettings.builder(12).timeout(Duration.ZERO).build(),
                () -> SparkSettings.builder(12).lrDecay(Double.NaN).build(),
                () -> SparkSettings.builder(3, 0).build(),
                () -> SparkSettings.builder(12).printEvery(0).build());
        for (int i = 0; i < bad.length; i++) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builds.get(i)::get, bad[i][0]);
            assertTrue(e.getMessage().contains(bad[i][0]), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparkSettings.builder(12).updateRule("adam").learningRate(-1).build());
        assertTrue(e.getMessage().contains("learning rate must be a finite number > 0, got -1.0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SparkTrainer(twoLayer(), null));
    }
}
