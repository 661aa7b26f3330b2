"""Fix awslambda.kms_key_and_dead_letter_queue_configured: KMSKeyArn changes and DeadLetterConfig is kept."""
from __future__ import annotations

from lambda_helpers import make_function


def test_dead_letter_queue_and_key_are_set_reported_and_removed(aws):
    lam, kms, sqs = aws("lambda"), aws("kms"), aws("sqs")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    other = kms.create_key()["KeyMetadata"]["Arn"]
    queue = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName=f"emu-dlq-{key[-8:]}")["QueueUrl"],
                                     AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = make_function(aws, "export const handler = async () => 1;", env={"A": "1"})
    config = lam.get_function_configuration(FunctionName=name)
    assert "DeadLetterConfig" not in config and not config.get("KMSKeyArn")

    lam.update_function_configuration(FunctionName=name, KMSKeyArn=key, DeadLetterConfig={"TargetArn": queue})
    config = lam.get_function(FunctionName=name)["Configuration"]
    assert config["KMSKeyArn"] == key
    assert config["DeadLetterConfig"] == {"TargetArn": queue}
    # A published version keeps them.
    version = lam.publish_version(FunctionName=name)["Version"]
    assert lam.get_function_configuration(FunctionName=name, Qualifier=version)["DeadLetterConfig"]["TargetArn"] == queue

    lam.update_function_configuration(FunctionName=name, KMSKeyArn=other)
    config = lam.get_function_configuration(FunctionName=name)
    assert config["KMSKeyArn"] == other and config["DeadLetterConfig"]["TargetArn"] == queue

    lam.update_function_configuration(FunctionName=name, KMSKeyArn="", DeadLetterConfig={"TargetArn": ""})
    config = lam.get_function_configuration(FunctionName=name)
    assert "DeadLetterConfig" not in config and not config.get("KMSKeyArn")


def test_created_with_a_dead_letter_queue(aws):
    lam, sqs = aws("lambda"), aws("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="emu-dlq-created")["QueueUrl"],
                                     AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = make_function(aws, "export const handler = async () => 1;")
    lam.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": queue})
    assert lam.get_function_configuration(FunctionName=name)["DeadLetterConfig"]["TargetArn"] == queue
