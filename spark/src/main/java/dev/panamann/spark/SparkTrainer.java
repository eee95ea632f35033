package dev.panamann.spark;

import dev.panamann.models.Model;
import dev.panamann.tensor.Tensor;
import java.io.PrintStream;
import java.io.Serializable;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Synchronous data-parallel training on Apache Spark (4.1 or newer), the way Horovod on Spark
 * and PyTorch's TorchDistributor do it: the whole training runs as ONE barrier stage of
 * {@code workers} tasks. Each task builds a full replica of the model ({@link ModelFactory}),
 * copies its partition of the training data once into an off-heap dataset and runs the
 * ordinary {@link dev.panamann.train.Solver} loop on it with a minibatch of
 * {@code batchSize / workers} examples. After every backward pass the gradients (one contiguous
 * buffer, {@link Model#gradients()}) are averaged across the tasks by an in-place all-reduce
 * over TCP ({@link dev.panamann.dist.TcpCollective}), so every replica takes the same optimizer
 * step: the result is that of one process training with minibatches of {@code batchSize}
 * (the union of the workers' minibatches). The only Spark collective call is one
 * {@code allGather} of each task's host:port (and its preparation status) at the start.
 *
 * <pre>{@code
 * SparkSettings s = SparkSettings.builder(3, 32, 32).workers(2).batchSize(64).numEpochs(15)
 *         .updateRule("adam").learningRate(1e-3).checkpointDir("/shared/run1").build();
 * SparkTrainer.Result r = new SparkTrainer(ops -> new ThreeLayerConvNet(ops, 42), s).fit(trainRdd, valExamples);
 * try (Model m = new ThreeLayerConvNet(Backends.get(), 42)) {
 *     r.loadInto(m);          // the best validation parameters of the run
 * }
 * }</pre>
 *
 * <p>Data: an RDD of {@link Example} ({@link #fit(JavaRDD, List)}) or a DataFrame
 * ({@link #fit(Dataset, Dataset, String, String...)}).
 * The training RDD needs at least {@code workers} partitions (more are repartitioned to
 * {@code workers} by one shuffle); every partition must hold examples, and partitions of
 * unequal size are cut to the smallest, so that every worker runs the same number of steps.
 * Each worker draws its minibatches from its own shard with its own seeded generator
 * ({@link #rankSeed}). The validation examples go to every worker (a Spark broadcast); each
 * evaluates its contiguous share and the correct / total counts are summed across the
 * workers, so every check's validation accuracy is that of the whole set, the same on every
 * rank, and picks the same best parameters everywhere.
 *
 * <p>Batch norm uses each worker's own batch statistics in training (as PyTorch's DDP does by
 * default); the running statistics are averaged across the workers before every accuracy
 * check, so checks, checkpoints and the final model hold the average. Dropout masks differ per
 * worker (each replica's generators are re-seeded by rank).
 *
 * <p>Faults: with {@link SparkSettings#checkpointDir} set, rank 0 writes the Solver's atomic
 * checkpoint at each check ({@code checkpoint_epoch_<e>.safetensors}: parameters, buffers,
 * optimizer state, histories, which are the same on every rank) and then the generator states
 * of every rank ({@code generators_epoch_<e>.txt}); the other ranks write nothing. The
 * directory must be one every executor sees (a shared file system on a cluster). When a task
 * dies, Spark aborts the barrier stage; the driver then starts the stage again, up to
 * {@link SparkSettings#maxRestarts} times, and every worker resumes from rank 0's newest
 * complete checkpoint with its own generator states: the run ends where an uninterrupted run
 * ends. Errors in the input (too few partitions, empty partitions, labels out of range, wrong
 * example sizes, a model that cannot be built on an executor) are found before training starts
 * and thrown on the driver as {@link IllegalArgumentException} naming the partition, without
 * restarts and without a hang.
 */
public final class SparkTrainer {
    private final ModelFactory factory;
    private final SparkSettings settings;
    private final PrintStream out;
    private final int failRank, failIteration;

    /**
     * @param factory  builds the model on each executor
     * @param settings how to train
     */
    public SparkTrainer(ModelFactory factory, SparkSettings settings) {
        this(factory, settings, System.out);
    }

    /**
     * @param factory  builds the model on each executor
     * @param settings how to train
     * @param out      where the driver reports restarts
     */
    public SparkTrainer(ModelFactory factory, SparkSettings settings, PrintStream out) {
        this(factory, settings, out, -1, -1);
    }

    private SparkTrainer(ModelFactory factory, SparkSettings settings, PrintStream out, int failRank, int failIteration) {
        if (factory == null) throw new IllegalArgumentException("model factory is null");
        if (settings == null) throw new IllegalArgumentException("settings are null");
        if (out == null) throw new IllegalArgumentException("output stream is null");
        this.factory = factory;
        this.settings = settings;
        this.out = out;
        this.failRank = failRank;
        this.failIteration = failIteration;
    }

    /** The settings this trainer runs with. */
    public SparkSettings settings() { return settings; }

    /**
     * Fault injection for testing the restart path: in the first attempt only, the worker of
     * {@code rank} throws after the backward pass of iteration {@code iteration} (0-based),
     * which fails its task; -1 for none.
     */
    SparkTrainer injectFailure(int rank, int iteration) {
        return new SparkTrainer(factory, settings, out, rank, iteration);
    }

    /**
     * The seed of rank {@code rank}'s minibatch generator for a run seeded with {@code seed}:
     * {@code seed} itself for rank 0 (one worker draws what a single process draws), a hash of
     * both for the others (not {@code seed + k * rank}: {@link dev.panamann.tensor.Rng} is
     * SplitMix64, whose streams for seeds one increment apart are the same stream shifted).
     */
    public static long rankSeed(long seed, int rank) {
        if (rank == 0) return seed;
        return new dev.panamann.tensor.Rng(new dev.panamann.tensor.Rng(seed).nextLong() ^ (0xD1B54A32D192ED03L * rank)).nextLong();
    }

    /** Rank 0's checkpoint (the Solver's) of an epoch under a checkpoint directory. */
    public static Path checkpointFile(String dir, int epoch) {
        return Path.of(dir, "checkpoint_epoch_" + epoch + ".safetensors");
    }

    /** The generator states of every rank at a checkpoint (rank 0 writes it before the checkpoint counts as complete). */
    static Path generatorsFile(String dir, int epoch) {
        return Path.of(dir, "generators_epoch_" + epoch + ".txt");
    }

    // ------------------------------------------------------------------ training

    /**
     * Trains on the cluster of the RDD's Spark context and returns the result to the driver.
     *
     * @param train training examples, at least {@code workers} partitions, none empty
     * @param val   validation examples, at least one per worker (sent to every worker; each
     *              evaluates its share and the counts are summed)
     * @throws IllegalArgumentException for bad input, naming what was wrong
     * @throws SparkTrainingException   when the run failed more than {@code maxRestarts} times
     */
    public Result fit(JavaRDD<Example> train, List<Example> val) {
        if (train == null) throw new IllegalArgumentException("training RDD is null");
        if (val == null) throw new IllegalArgumentException("validation set is null");
        int workers = settings.workers();
        int parts = train.getNumPartitions();
        if (parts < workers) {
            throw new IllegalArgumentException("the training RDD has " + parts + " partition(s) but the run has " + workers
                    + " workers (one partition each): repartition it, e.g. rdd.repartition(" + workers + ")");
        }
        int d = settings.exampleSize();
        float[] vx = new float[Math.multiplyExact(val.size(), d)];
        int[] vy = new int[val.size()];
        for (int i = 0; i < val.size(); i++) {
            Example e = val.get(i);
            if (e == null) throw new IllegalArgumentException("validation example " + i + " is null");
            if (e.x().length != d) {
                throw new IllegalArgumentException("validation example " + i + " has " + e.x().length + " values but the example shape "
                        + Arrays.toString(settings.exampleShape()) + " needs " + d);
            }
            System.arraycopy(e.x(), 0, vx, i * d, d);
            vy[i] = e.label();
        }
        // more partitions: one shuffle to exactly W (a barrier stage does not take coalesce's narrow merge)
        return run(parts > workers ? train.repartition(workers) : train, vx, vy, null);
    }

    /**
     * Trains on DataFrames: the examples are read from the rows of {@code train} and
     * {@code val} (same schema), each example's values from {@code featureColumns} and its
     * class from {@code labelColumn}.
     *
     * <p>Accepted schemas (checked on the driver before any work, with an error naming the
     * column): the label column is an integer type (byte, short, int or long) holding classes
     * in {@code [0, numClasses)}; the features are either
     * <ul>
     *   <li>one column of type {@code array<float>} or {@code array<double>} (or of an integer
     *       element type) with exactly as many values as the example shape holds, in
     *       row-major order (for images C x H x W); or</li>
     *   <li>one {@code binary} column of exactly that many bytes, each an unsigned 8-bit value
     *       0..255 (raw pixels, as CIFAR's binary files hold them); or</li>
     *   <li>as many numeric columns as the example holds values (e.g. the 784 pixel columns of
     *       an MNIST CSV), one value each, in the given order.</li>
     * </ul>
     * Values are used as they are (converted to float): normalize or subtract the mean image
     * before. A row with a null, a wrong length or a label outside the model's classes fails
     * the run on the driver with an {@link IllegalArgumentException} naming the partition,
     * the row within it and the column.
     *
     * <p>The training DataFrame is split into exactly {@code workers} shards: a DataFrame of
     * another partition count is repartitioned to {@code workers} (round robin, one shuffle),
     * and shards are cut to the smallest, as for an RDD. The validation rows are collected to
     * the driver (keep the set small).
     *
     * @throws IllegalArgumentException for a bad schema or bad rows, naming the column and row
     */
    public Result fit(Dataset<Row> train, Dataset<Row> val,
                      String labelColumn, String... featureColumns) {
        if (train == null) throw new IllegalArgumentException("training DataFrame is null");
        if (val == null) throw new IllegalArgumentException("validation DataFrame is null");
        RowConverter trainRows = RowConverter.of(train.schema(), "training", labelColumn, featureColumns, settings.exampleSize());
        RowConverter valRows = RowConverter.of(val.schema(), "validation", labelColumn, featureColumns, settings.exampleSize());
        List<Example> v = valRows.convert(val.select(valRows.columns()).collectAsList());
        int workers = settings.workers();
        Dataset<Row> t = train.select(trainRows.columns());
        if (t.rdd().getNumPartitions() != workers) t = t.repartition(workers);
        JavaRDD<Example> examples = t.javaRDD().mapPartitionsWithIndex(trainRows, true);
        int d = settings.exampleSize();
        float[] vx = new float[Math.multiplyExact(v.size(), d)];
        int[] vy = new int[v.size()];
        for (int i = 0; i < v.size(); i++) {
            System.arraycopy(v.get(i).x(), 0, vx, i * d, d);
            vy[i] = v.get(i).label();
        }
        return run(examples, vx, vy, labelColumn);
    }

    private Result run(JavaRDD<Example> shards, float[] vx, int[] vy, String labelColumn) {
        int workers = settings.workers();
        if (vy.length < workers) {
            throw new IllegalArgumentException("the validation set has " + vy.length + " example(s) but the run has " + workers
                    + " workers: each worker evaluates its share, so give at least one example per worker");
        }
        if (vy.length > 1 << 24) {
            throw new IllegalArgumentException("the validation set has " + vy.length + " examples; at most " + (1 << 24)
                    + " (the summed counts are exact floats up to 2^24)");
        }
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(shards.context());
        Broadcast<Worker.ValData> valData = sc.broadcast(new Worker.ValData(vx, vy));
        long start = System.nanoTime();
        try {
            for (int attempt = 0; ; attempt++) {
                Config c = new Config(settings, labelColumn, new SecureRandom().nextLong(), attempt == 0 ? failRank : -1, failIteration);
                List<WorkerResult> results;
                try {
                    RDD<WorkerResult> r = shards.rdd().barrier().mapPartitions(new Worker(c, factory, valData), false,
                            scala.reflect.ClassTag$.MODULE$.apply(WorkerResult.class));
                    results = new ArrayList<>(r.toJavaRDD().collect());
                } catch (Exception e) { // SparkException is checked, and Scala throws it undeclared
                    if (attempt >= settings.maxRestarts()) {
                        throw new SparkTrainingException("training failed " + (attempt + 1) + " time(s), the last time with: "
                                + firstLine(e), e);
                    }
                    out.println("SparkTrainer: the training stage failed (" + firstLine(e) + "); restart " + (attempt + 1)
                            + " of " + settings.maxRestarts()
                            + (settings.checkpointDir() != null ? ", from the newest checkpoint" : ", from the start"));
                    continue;
                }
                results.sort((a, b) -> Integer.compare(a.rank(), b.rank()));
                List<String> errors = new ArrayList<>();
                for (WorkerResult w : results) if (w.error() != null && !w.error().isEmpty()) errors.add(w.error());
                if (!errors.isEmpty()) throw new IllegalArgumentException(String.join("; ", errors));
                return new Result(results, attempt, (System.nanoTime() - start) / 1e9);
            }
        } finally {
            valData.destroy();
        }
    }

    /** The first line of the message and the first line after it that names an exception (a task's cause). */
    private static String firstLine(Throwable e) {
        String[] lines = String.valueOf(e.getMessage()).split("\n");
        String first = lines[0].trim();
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i].trim();
            if (l.matches("^[\\w.$]+(Exception|Error)(: .*)?$")) return first + " " + l;
        }
        return first;
    }

    /**
     * Everything a worker needs, sent with the stage: the settings, the DataFrame's label
     * column (for messages; null for an RDD), the attempt's connection token and the fault
     * injection.
     */
    record Config(SparkSettings settings, String labelColumn, long token, int failRank, int failIteration) implements Serializable {}

    /** What one worker sends back. */
    record WorkerResult(int rank, String error, LinkedHashMap<String, float[]> best, LinkedHashMap<String, float[]> last,
                        float[] loss, float[] trainAcc, float[] valAcc, float bestValAcc, int shardSize, int resumedEpoch,
                        double seconds) implements Serializable {
        static WorkerResult failed(int rank, String error) {
            return new WorkerResult(rank, error, null, null, null, null, null, Float.NaN, 0, -1, 0);
        }
    }

    /** The training stage failed more often than {@link SparkSettings#maxRestarts} allows. */
    public static final class SparkTrainingException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SparkTrainingException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The outcome of {@link #fit}: rank 0's best and final parameters (and model buffers, by
     * {@link Model#stateDict()} name), its histories, and when asked every replica's final values.
     */
    public static final class Result {
        private final List<WorkerResult> workers;
        private final int restarts;
        private final double seconds;

        Result(List<WorkerResult> workers, int restarts, double seconds) {
            this.workers = workers;
            this.restarts = restarts;
            this.seconds = seconds;
        }

        /** The parameters and buffers with the best validation accuracy (what the Solver keeps). */
        public Map<String, float[]> bestState() { return Collections.unmodifiableMap(workers.get(0).best()); }

        /** The parameters and buffers after the last step. */
        public Map<String, float[]> lastState() { return Collections.unmodifiableMap(workers.get(0).last()); }

        /** Each rank's values after the last step, by rank (only with {@link SparkSettings#collectReplicas}). */
        public List<Map<String, float[]>> replicaStates() {
            List<Map<String, float[]>> l = new ArrayList<>();
            for (WorkerResult w : workers) if (w.last() != null) l.add(Collections.unmodifiableMap(w.last()));
            return l;
        }

        /** Rank 0's minibatch losses (its share of each global minibatch), one per iteration. */
        public float[] lossHistory() { return workers.get(0).loss().clone(); }

        /** Train accuracy (on a sample of rank 0's shard) at every check. */
        public float[] trainAccHistory() { return workers.get(0).trainAcc().clone(); }

        /** Validation accuracy of the whole validation set (the workers' counts summed) at every check. */
        public float[] valAccHistory() { return workers.get(0).valAcc().clone(); }

        /** The best validation accuracy. */
        public float bestValAcc() { return workers.get(0).bestValAcc(); }

        /** Examples each worker trained on (the shards cut to the smallest). */
        public int shardSize() { return workers.get(0).shardSize(); }

        /** The epoch the last attempt resumed from, or -1 when it started from the beginning. */
        public int resumedEpoch() { return workers.get(0).resumedEpoch(); }

        /** How often the stage was started again after a failure. */
        public int restarts() { return restarts; }

        /** Wall time of {@link #fit}, in seconds. */
        public double seconds() { return seconds; }

        /** Rank 0's training time (data copy to the end of training), in seconds. */
        public double workerSeconds() { return workers.get(0).seconds(); }

        /**
         * Copies {@link #bestState()} into a model of the same architecture.
         *
         * @throws IllegalArgumentException naming the first tensor whose name or size differs
         */
        public void loadInto(Model model) {
            load(bestState(), model);
        }

        /** Copies the given state (e.g. {@link #lastState()}) into a model of the same architecture. */
        public static void load(Map<String, float[]> state, Model model) {
            Map<String, Tensor> dst = model.stateDict();
            if (!dst.keySet().equals(state.keySet())) {
                throw new IllegalArgumentException("the model has tensors " + dst.keySet() + " but the result holds " + state.keySet());
            }
            for (var e : dst.entrySet()) {
                float[] v = state.get(e.getKey());
                if (v.length != e.getValue().size()) {
                    throw new IllegalArgumentException(e.getKey() + ": the model has " + e.getValue().size() + " values, the result "
                            + v.length);
                }
            }
            for (var e : dst.entrySet()) {
                float[] v = state.get(e.getKey());
                MemorySegment.copy(v, 0, e.getValue().segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
            }
        }
    }
}
