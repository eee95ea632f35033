package dev.panamann.train;

import dev.panamann.testutil.TinyNet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Dataset;
import dev.panamann.io.ModelIO;
import dev.panamann.tensor.Rng;
import dev.panamann.testutil.Backs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HyperparameterSearchTest {
    static final int D = 8, C = 3;

    @TempDir
    Path dir;

    Dataset train, val;
    final List<TinyNet> made = new ArrayList<>();

    @BeforeEach
    void data() {
        Rng rng = new Rng(11);
        float[][] centres = TinyNet.centres(rng, D, C, 1f);
        train = TinyNet.blobs(rng, 200, centres);
        val = TinyNet.blobs(rng, 80, centres);
    }

    @AfterEach
    void free() {
        train.close();
        val.close();
    }

    HyperparameterSearch.Outcome trainOne(HyperparameterSearch.Trial t) throws IOException {
        TinyNet net = new TinyNet(Backs.java(), D, t.getInt("hidden"), C, 1e-3f, 0.1f, new Rng(t.index()));
        made.add(net);
        try (Solver s = new Solver(net, train, val).optimConfig(Map.of("learning_rate", t.get("lr"))).batchSize(40)
                .numEpochs(2).verbose(false)) {
            s.train();
            return HyperparameterSearch.Outcome.of(s);
        }
    }

    @Test
    void gridSearchRunsEveryCombinationKeepsTheBestAndClosesTheRest() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        HyperparameterSearch search = new HyperparameterSearch().values("lr", 1e-5, 0.2).values("hidden", 0, 8)
                .out(new PrintStream(buf, true, StandardCharsets.UTF_8));
        List<HyperparameterSearch.Result> r = search.gridSearch(this::trainOne);
        assertEquals(4, r.size());
        assertEquals(List.of(Map.of("lr", 1e-5, "hidden", 0.0), Map.of("lr", 1e-5, "hidden", 8.0),
                Map.of("lr", 0.2, "hidden", 0.0), Map.of("lr", 0.2, "hidden", 8.0)),
                r.stream().sorted((a, b) -> a.trial() - b.trial()).map(HyperparameterSearch.Result::params).toList());
        for (int i = 1; i < r.size(); i++) assertTrue(r.get(i - 1).valAcc() >= r.get(i).valAcc(), "sorted best first");
        assertEquals(0.2, r.get(0).params().get("lr"), "the useful learning rate wins");
        assertSame(search.best(), r.get(0));
        TinyNet best = made.get(r.get(0).trial() - 1);
        assertSame(best, search.bestModel());
        for (TinyNet m : made) {
            assertEquals(m != best, m.params().get(0).value().isClosed(), "only the best model stays open");
        }
        try (Solver s = new Solver(best, train, val).verbose(false)) {
            assertEquals((float) r.get(0).valAcc(), s.checkAccuracy(val, null, 100), "the kept model is the best one");
        }

        Path csv = dir.resolve("out/search.csv");
        search.writeCsv(csv);
        List<String> lines = Files.readAllLines(csv);
        assertEquals("trial,lr,hidden,val_acc,train_acc,seconds,error", lines.get(0));
        assertEquals(5, lines.size());
        String[] top = lines.get(1).split(",", -1);
        assertEquals(r.get(0).trial(), Integer.parseInt(top[0]));
        assertEquals(0.2, Double.parseDouble(top[1]));
        assertEquals(r.get(0).valAcc(), Double.parseDouble(top[3]));
        assertEquals("", top[6]);

        String table = search.table();
        assertTrue(table.lines().findFirst().orElseThrow().matches("\\s*trial\\s+lr\\s+hidden\\s+val_acc\\s+train_acc\\s+seconds"), table);
        assertEquals(6, table.lines().count(), table);
        assertTrue(buf.toString(StandardCharsets.UTF_8).contains("trial 1/4: lr=1.000e-05, hidden=0 -> val acc"),
                buf.toString(StandardCharsets.UTF_8));

        Path saved = dir.resolve("best.safetensors");
        search.saveBest(saved);
        try (TinyNet copy = new TinyNet(Backs.java(), D, best.params().size() > 2 ? 8 : 0, C, 0f, 1f, new Rng(5))) {
            Map<String, String> meta = ModelIO.load(copy, saved);
            assertEquals("0.2", meta.get("hparam.lr"));
            for (int i = 0; i < copy.params().size(); i++) {
                assertArrayEquals(best.params().get(i).value().toArray(), copy.params().get(i).value().toArray());
            }
        }
        best.close();
    }

    @Test
    void randomSearchDrawsLogUniformlyAndReproducibly() {
        HyperparameterSearch a = new HyperparameterSearch().logUniform("lr", 1e-5, 1e-1).logUniformInt("hidden", 4, 400)
                .uniform("dropout", 0.1, 0.5).values("bn", 0, 1).verbose(false);
        List<Map<String, Double>> seen = new ArrayList<>();
        a.randomSearch(200, 3, t -> {
            seen.add(t.params());
            return new HyperparameterSearch.Outcome(null, t.get("lr"), Double.NaN);
        });
        int lowDecades = 0;
        for (Map<String, Double> p : seen) {
            double lr = p.get("lr"), h = p.get("hidden");
            assertTrue(lr >= 1e-5 && lr <= 1e-1, "lr " + lr);
            assertTrue(h >= 4 && h <= 400 && h == Math.rint(h), "hidden " + h);
            assertTrue(p.get("dropout") >= 0.1 && p.get("dropout") <= 0.5);
            assertTrue(p.get("bn") == 0 || p.get("bn") == 1);
            if (lr < 1e-3) lowDecades++;
        }
        // log-uniform: half of the draws fall in the lower two of the four decades (uniform would give 1%)
        assertTrue(lowDecades > 70 && lowDecades < 130, "draws below 1e-3: " + lowDecades);
        HyperparameterSearch b = new HyperparameterSearch().logUniform("lr", 1e-5, 1e-1).logUniformInt("hidden", 4, 400)
                .uniform("dropout", 0.1, 0.5).values("bn", 0, 1).verbose(false);
        List<Map<String, Double>> again = new ArrayList<>();
        b.randomSearch(200, 3, t -> {
            again.add(t.params());
            return new HyperparameterSearch.Outcome(null, 0, 0);
        });
        assertEquals(seen, again, "same seed, same draws");
        assertEquals(seen.stream().mapToDouble(p -> p.get("lr")).max().orElseThrow(), a.best().valAcc());
        assertNull(a.bestModel());
    }

    @Test
    void failingTrialsAreRecordedAndTheSearchGoesOn() {
        HyperparameterSearch s = new HyperparameterSearch().values("x", 1, 2, 3).verbose(false);
        List<HyperparameterSearch.Result> r = s.gridSearch(t -> {
            if (t.getInt("x") == 2) throw new IllegalStateException("diverged, \"loss\" is NaN");
            return new HyperparameterSearch.Outcome(null, t.get("x") / 10, 0);
        });
        assertEquals(3, r.size());
        assertEquals(3.0, r.get(0).params().get("x"));
        assertEquals("IllegalStateException: diverged, \"loss\" is NaN", r.get(2).error());
        assertTrue(Double.isNaN(r.get(2).valAcc()));
        assertTrue(s.csv().contains("\"IllegalStateException: diverged, \"\"loss\"\" is NaN\""), s.csv());
        assertTrue(s.table().contains("failed"));
    }

    @Test
    void badSearchSpacesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new HyperparameterSearch().logUniform("lr", 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new HyperparameterSearch().logUniform("lr", 1e-2, 1e-3));
        assertThrows(IllegalArgumentException.class, () -> new HyperparameterSearch().values("lr"));
        assertThrows(IllegalArgumentException.class, () -> new HyperparameterSearch().logUniformInt("h", 0, 10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new HyperparameterSearch().logUniform("lr", 1e-4, 1e-2).gridSearch(t -> null));
        assertTrue(e.getMessage().contains("grid search needs discrete values for 'lr'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new HyperparameterSearch().values("x", 1).randomSearch(0, 0, t -> null));
        assertThrows(IllegalStateException.class, () -> new HyperparameterSearch().saveBest(Path.of("x")));
    }
}
