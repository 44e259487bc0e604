// The JVM pass-through of `make bench` (bench/clients.py): Kafka's own Java client and Jackson, the jars that
// ops/kafka/devkafka already fetches. Reads `count` searches from `source` from the earliest offset, decodes
// each with Jackson, writes a small record per search to `sink` on the search's partition, flushes the
// producer before each commit (at least once, like the worker), and prints one JSON line of figures.
// Timing starts at the first record fetched, so JIT warm-up is included, as it is for a service that starts.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class PassThrough {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], source = args[1], sink = args[2], group = args[3];
        long count = Long.parseLong(args[4]);
        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        c.put("group.id", group);
        c.put("enable.auto.commit", "false");
        c.put("auto.offset.reset", "earliest");
        c.put("max.poll.records", "1000");
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        p.put("linger.ms", "5");
        p.put("batch.size", String.valueOf(256 * 1024));
        ObjectMapper json = new ObjectMapper();
        com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (KafkaConsumer<byte[], byte[]> consumer =
                 new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer =
                 new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            consumer.subscribe(List.of(source));
            int partitions = producer.partitionsFor(sink).size();
            long forwarded = 0, first = 0, cpu = 0, half = 0, halfCpu = 0, halfCount = 0;
            while (forwarded < count) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofSeconds(1));
                if (records.isEmpty()) continue;
                if (first == 0) { first = System.nanoTime(); cpu = os.getProcessCpuTime(); }
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    JsonNode search = json.readTree(record.value());
                    ObjectNode decision = json.createObjectNode();
                    decision.set("search_id", search.get("search_id"));
                    decision.put("intercept", false);
                    decision.putNull("tier");
                    decision.set("locale", search.get("locale"));
                    decision.put("decided_at_ms", System.currentTimeMillis());
                    producer.send(new ProducerRecord<>(sink, record.partition() % partitions, record.key(),
                                                       json.writeValueAsBytes(decision)));
                    forwarded++;
                }
                producer.flush();  // every record acknowledged before its offset is committed
                consumer.commitSync();
                if (half == 0 && forwarded >= count / 2) {  // the second half: once the JIT has compiled the loop
                    half = System.nanoTime(); halfCpu = os.getProcessCpuTime(); halfCount = forwarded;
                }
            }
            long end = System.nanoTime(), endCpu = os.getProcessCpuTime();
            System.out.printf("{\"events\": %d, \"seconds\": %.6f, \"cpu_seconds\": %.6f, \"late_events\": %d, "
                              + "\"late_seconds\": %.6f, \"late_cpu_seconds\": %.6f}%n", forwarded, (end - first) / 1e9,
                              (endCpu - cpu) / 1e9, forwarded - halfCount, (end - half) / 1e9, (endCpu - halfCpu) / 1e9);
        }
    }
}
