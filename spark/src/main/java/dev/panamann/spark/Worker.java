package dev.panamann.spark;

import dev.panamann.data.Dataset;
import dev.panamann.dist.Collective;
import dev.panamann.dist.TcpCollective;
import dev.panamann.models.Model;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.spark.SparkTrainer.Config;
import dev.panamann.spark.SparkTrainer.WorkerResult;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.Evaluation;
import dev.panamann.train.Solver;
import java.io.IOException;
import java.io.Serializable;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.broadcast.Broadcast;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/**
 * One barrier task: rank {@code partitionId} of the run. Prepares (data, model, listening
 * socket), tells the others through one {@code allGather} whether it is ready, connects the
 * collective, and trains with the Solver; a preparation error on any rank makes every rank
 * return at once with the error instead of training.
 */
final class Worker extends AbstractFunction1<scala.collection.Iterator<Example>, scala.collection.Iterator<WorkerResult>>
        implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint_epoch_(\\d+)\\.safetensors");

    private final Config config;
    private final SparkSettings settings;
    private final ModelFactory factory;
    private final Broadcast<ValData> val;

    /** The validation examples, flat. */
    record ValData(float[] x, int[] y) implements Serializable {}

    Worker(Config config, ModelFactory factory, Broadcast<ValData> val) {
        this.config = config;
        this.settings = config.settings();
        this.factory = factory;
        this.val = val;
    }

    @Override
    public scala.collection.Iterator<WorkerResult> apply(scala.collection.Iterator<Example> input) {
        Iterator<Example> data = CollectionConverters.asJava(input);
        BarrierTaskContext ctx = BarrierTaskContext.get();
        WorkerResult r = run(ctx, ctx.partitionId(), ctx.getTaskInfos().length, data);
        return CollectionConverters.asScala(List.of(r).iterator());
    }

    private WorkerResult run(BarrierTaskContext ctx, int rank, int size, Iterator<Example> data) {
        long t0 = System.nanoTime();
        Dataset shard = null, valSet = null;
        Model model = null;
        Ops ops = null;
        TcpCollective.Listener listener = null;
        String status;
        TreeSet<Integer> epochs = new TreeSet<>();
        try {
            if (size != settings.workers()) {
                throw new IllegalArgumentException("the stage has " + size + " tasks but the run " + settings.workers() + " workers");
            }
            int d = settings.exampleSize();
            shard = copy(data, d, rank);
            ValData v = val.value();
            // this rank's contiguous share of the validation set; the counts are summed at every check
            int n = v.y().length, from = (int) ((long) rank * n / size), to = (int) ((long) (rank + 1) * n / size);
            valSet = dataset(Arrays.copyOfRange(v.x(), from * d, to * d), Arrays.copyOfRange(v.y(), from, to), d);
            ops = Backends.create(settings.backend());
            ops.setThreads(settings.threads() > 0 ? settings.threads() : Math.max(1, ctx.cpus()));
            try {
                model = factory.create(ops);
            } catch (RuntimeException | LinkageError e) {
                throw new IllegalArgumentException("the model cannot be built on this executor: " + e, e);
            }
            if (model == null) throw new IllegalArgumentException("the model factory returned null");
            model.gradients(); // throws for a model without one gradient buffer
            String column = config.labelColumn() == null ? "" : " (column '" + config.labelColumn() + "')";
            checkLabels(shard.y(), model.numClasses(), "partition " + rank + ": training " + (column.isEmpty() ? "example " : "row "), column);
            checkLabels(v.y(), model.numClasses(), "validation " + (column.isEmpty() ? "example " : "row "), column);
            if (settings.checkpointDir() != null) epochs = checkpointEpochs();
            String host = ctx.getTaskInfos()[rank].address();
            int colon = host.lastIndexOf(':');
            if (colon > 0 && host.indexOf(':') == colon) host = host.substring(0, colon);
            listener = TcpCollective.listen(host);
            status = "OK\t" + listener.address() + "\t" + shard.size() + "\t" + join(epochs);
        } catch (Exception | LinkageError e) {
            status = "ERR\t" + ("rank " + rank + ": " + message(e)).replace('\t', ' ').replace('\n', ' ');
        }
        // the one Spark collective call: every rank reaches it, ready or not, so nobody hangs
        String[] all = ctx.allGather(status);
        Collective collective = null;
        try {
            StringBuilder errors = new StringBuilder();
            for (String s : all) if (s.startsWith("ERR\t")) errors.append(errors.length() > 0 ? "; " : "").append(s.substring(4));
            if (errors.length() > 0) return WorkerResult.failed(rank, status.startsWith("ERR\t") ? status.substring(4) : "");

            List<String> addresses = new ArrayList<>();
            int minCount = Integer.MAX_VALUE;
            List<TreeSet<Integer>> seen = new ArrayList<>();
            for (String s : all) {
                String[] f = s.split("\t", -1);
                addresses.add(f[1]);
                minCount = Math.min(minCount, Integer.parseInt(f[2]));
                seen.add(parse(f[3]));
            }
            // rank 0 writes the checkpoints: resume from its newest complete one, which every rank must see
            int resumeEpoch = seen.get(0).isEmpty() ? -1 : seen.get(0).last();
            if (resumeEpoch >= 0) {
                List<Integer> blind = new ArrayList<>();
                for (int r = 1; r < seen.size(); r++) if (!seen.get(r).contains(resumeEpoch)) blind.add(r);
                if (!blind.isEmpty()) {
                    return WorkerResult.failed(rank, rank != 0 ? "" : "rank(s) " + blind + " do not see rank 0's checkpoint "
                            + SparkTrainer.checkpointFile(settings.checkpointDir(), resumeEpoch)
                            + ": the checkpoint directory must be one every executor sees (a shared file system)");
                }
            }
            Dataset train = shard.size() > minCount ? shard.head(minCount) : shard;
            collective = listener.connect(rank, addresses, config.token(), settings.timeout(),
                    TcpCollective.Algorithm.AUTO);
            listener = null;
            // one starting point: rank 0's parameters and buffers everywhere
            for (Tensor t : model.stateDict().values()) collective.broadcast(t.segment(), 0);
            List<Rng> gens = model.generators();
            for (int g = 0; g < gens.size(); g++) {
                if (rank > 0) gens.get(g).setState(new Rng(SparkTrainer.rankSeed(gens.get(g).nextLong(), rank)).getState());
            }
            return train(rank, collective, model, train, valSet, resumeEpoch, t0);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            if (collective != null) collective.close();
            if (listener != null) listener.close();
            if (model != null) model.close();
            if (ops != null) ops.close();
            if (shard != null) shard.close();
            if (valSet != null) valSet.close();
        }
    }

    private WorkerResult train(int rank, Collective collective, Model model, Dataset train, Dataset valSet, int resumeEpoch,
                               long t0) throws IOException {
        try (Solver solver = new Solver(model, train, valSet); Arena arena = Arena.ofConfined()) {
            solver.updateRule(settings.updateRule())
                    .optimConfig(settings.optimConfig())
                    .lrDecay(settings.lrDecay())
                    .batchSize(settings.batchPerWorker())
                    .numEpochs(settings.numEpochs())
                    .seed(SparkTrainer.rankSeed(settings.seed(), rank))
                    .numTrainSamples(settings.numTrainSamples())
                    .numValSamples(settings.numValSamples())
                    .printEvery(settings.printEvery())
                    .verbose(rank == 0 && settings.verbose())
                    .progressBar(false);
            MemorySegment counts = arena.allocate(2L * Float.BYTES, Float.BYTES);
            solver.accuracyCheck((s, data, n, batch) -> data == valSet ? valAccuracy(s, collective, valSet, batch, counts)
                    : s.checkAccuracy(data, n, batch));
            String dir = settings.checkpointDir();
            if (dir != null && rank == 0) {
                Path f = SparkTrainer.checkpointFile(dir, 0);
                Files.createDirectories(f.getParent());
                solver.checkpointName(f.getParent().resolve("checkpoint").toString());
            }
            boolean fail = rank == config.failRank() && BarrierTaskContext.get().stageAttemptNumber() == 0;
            GradientSync sync = new GradientSync(collective, model, fail ? config.failIteration() : -1,
                    rank == 0 || settings.collectReplicas(), dir, arena);
            solver.addListener(sync);
            if (resumeEpoch >= 0) {
                solver.resume(SparkTrainer.checkpointFile(dir, resumeEpoch));
                GradientSync.restoreGenerators(SparkTrainer.generatorsFile(dir, resumeEpoch), rank, solver);
            }
            // a run resumed from its final checkpoint takes no step: its last parameters are the checkpoint's
            LinkedHashMap<String, float[]> finished = solver.iteration() >= solver.numIterations() && (rank == 0 || settings.collectReplicas())
                    ? snapshot(model) : null;
            solver.train();
            // the best parameters are loaded now (restoreBest); they are the same on every rank
            LinkedHashMap<String, float[]> best = rank == 0 ? snapshot(model) : null;
            return new WorkerResult(rank, null, best, finished != null ? finished : sync.last(), floats(solver.lossHistory()), floats(solver.trainAccHistory()),
                    floats(solver.valAccHistory()), solver.bestValAcc(), train.size(), resumeEpoch,
                    (System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * The validation accuracy of the whole set: this rank's correct / evaluated counts (of all
     * its share, or of its part of {@code numValSamples} drawn at random), summed over the ranks.
     */
    private float valAccuracy(Solver solver, Collective collective, Dataset share, int batch, MemorySegment counts) {
        int want = settings.numValSamples(), rank = collective.rank(), w = collective.size();
        long correct, total;
        if (want == 0 || (total = (long) (rank + 1) * want / w - (long) rank * want / w) >= share.size()) {
            int[] pred = Evaluation.predict(solver.model(), share, batch);
            correct = 0;
            for (int i = 0; i < pred.length; i++) if (pred[i] == share.y()[i]) correct++;
            total = pred.length;
        } else if (total == 0) {
            correct = 0;
        } else {
            correct = Math.round((double) solver.checkAccuracy(share, (int) total, batch) * total);
        }
        counts.setAtIndex(F, 0, correct);
        counts.setAtIndex(F, 1, total);
        collective.allReduceSum(counts); // exact: counts stay below 2^24 (checked on the driver)
        return (float) ((double) counts.getAtIndex(F, 0) / counts.getAtIndex(F, 1));
    }

    static LinkedHashMap<String, float[]> snapshot(Model model) {
        LinkedHashMap<String, float[]> m = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            float[] v = new float[e.getValue().sizeInt()];
            MemorySegment.copy(e.getValue().segment(), F, 0, v, 0, v.length);
            m.put(e.getKey(), v);
        }
        return m;
    }

    private static float[] floats(List<Float> l) {
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) f[i] = l.get(i);
        return f;
    }

    /** Copies the partition into an off-heap dataset, checking every example's size. */
    private Dataset copy(Iterator<Example> it, int d, int rank) {
        List<Example> list = new ArrayList<>();
        while (it.hasNext()) {
            Example e = it.next();
            if (e == null) throw new IllegalArgumentException("partition " + rank + ": example " + list.size() + " is null");
            if (e.x().length != d) {
                throw new IllegalArgumentException("partition " + rank + ": example " + list.size() + " has " + e.x().length
                        + " values but the example shape " + Arrays.toString(settings.exampleShape()) + " needs " + d);
            }
            list.add(e);
        }
        if (list.isEmpty()) {
            throw new IllegalArgumentException("partition " + rank + " of the training RDD is empty: every worker needs examples"
                    + " (repartition the RDD)");
        }
        int[] es = settings.exampleShape();
        int[] shape = new int[es.length + 1];
        shape[0] = list.size();
        System.arraycopy(es, 0, shape, 1, es.length);
        Tensor x = Tensor.zeros(shape);
        int[] y = new int[list.size()];
        MemorySegment s = x.segment();
        for (int i = 0; i < y.length; i++) {
            MemorySegment.copy(list.get(i).x(), 0, s, F, (long) i * d * Float.BYTES, d);
            y[i] = list.get(i).label();
        }
        return new Dataset(x, y);
    }

    private Dataset dataset(float[] x, int[] y, int d) {
        int[] es = settings.exampleShape();
        int[] shape = new int[es.length + 1];
        shape[0] = y.length;
        System.arraycopy(es, 0, shape, 1, es.length);
        Tensor t = Tensor.zeros(shape);
        MemorySegment.copy(x, 0, t.segment(), F, 0, x.length);
        return new Dataset(t, y.clone());
    }

    private static void checkLabels(int[] y, int classes, String what, String column) {
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0 || y[i] >= classes) {
                throw new IllegalArgumentException(what + i + " has label " + y[i] + column + " but the model has " + classes
                        + " classes (labels must be in [0, " + classes + "))");
            }
        }
    }

    /** The epochs of rank 0's complete checkpoints this rank sees (the checkpoint and every rank's generator states). */
    private TreeSet<Integer> checkpointEpochs() throws IOException {
        TreeSet<Integer> s = new TreeSet<>();
        Path dir = Path.of(settings.checkpointDir());
        if (!Files.isDirectory(dir)) return s;
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Matcher m = CHECKPOINT.matcher(p.getFileName().toString());
                if (m.matches()) {
                    int e = Integer.parseInt(m.group(1));
                    if (Files.isRegularFile(SparkTrainer.generatorsFile(settings.checkpointDir(), e))) s.add(e);
                }
            }
        }
        return s;
    }

    private static String join(TreeSet<Integer> s) {
        StringBuilder sb = new StringBuilder();
        for (int e : s) sb.append(sb.length() > 0 ? "," : "").append(e);
        return sb.toString();
    }

    private static TreeSet<Integer> parse(String s) {
        TreeSet<Integer> t = new TreeSet<>();
        if (!s.isEmpty()) for (String p : s.split(",")) t.add(Integer.parseInt(p));
        return t;
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.toString() : m;
    }
}
